/**
 * Property: whatever people with whatever roles try, in whatever order, a production change becomes deployable
 * (approved) only when the approval matrix is met by distinct people who hold the roles they approved in, none of
 * whom wrote the change or pushed it through CI, with the on-call requirement met from the roster.
 *
 * The change-request and approval deciders run as the services run them; the glue between them is what the
 * process managers do (request approvals when the change waits for them, record the full approval on the change).
 */
import type { Role } from '@gatehouse/policy';
import fc from 'fast-check';
import { DomainError } from '../errors.js';
import { changeRequestDecider, type ChangeRequestCommand, type ChangeRequestState, type EnvironmentChangeRules } from '../change-request/changeRequest.js';
import { approvalDecider, type ApprovalCommand, type ApprovalState } from './approvals.js';
import { productionEmergency, productionMatrix } from './fixtures.js';

const NOW = new Date('2026-12-01T08:00:00Z');
const CR = 'cr-prop';
const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'ivan'] as const;
type Person = (typeof PEOPLE)[number];
const ROLES_IN_PLAY: readonly Role[] = ['developer', 'code_reviewer', 'tech_lead', 'sre', 'vp_engineering', 'dba'];
const RULES: Record<string, EnvironmentChangeRules> = {
  production: { runbookRequired: true, standardChangesPreApproved: true, standardChangeTemplates: [], exposure: 'production' },
};
/** What production's policy asks, independently of the code under test. */
const EXPECTED_REQUIREMENTS: Record<'normal' | 'emergency', Array<{ role: Role; onCall: boolean }>> = {
  normal: [
    { role: 'code_reviewer', onCall: false },
    { role: 'tech_lead', onCall: false },
    { role: 'sre', onCall: false },
  ],
  emergency: [
    { role: 'tech_lead', onCall: false },
    { role: 'sre', onCall: true },
  ],
};

type Attempt =
  | { kind: 'startReview' | 'completeReview' | 'validate' | 'closeWithReview'; by: Person }
  | { kind: 'grant'; by: Person; role: Role }
  | { kind: 'reject' | 'revoke'; by: Person };

const person = fc.constantFrom(...PEOPLE);
// Grants weigh most: they are how a change gets out, so most sequences should try them.
const attempt: fc.Arbitrary<Attempt> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('startReview', 'completeReview', 'validate', 'closeWithReview'), by: person }) as fc.Arbitrary<Attempt>, weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('grant'), by: person, role: fc.constantFrom(...ROLES_IN_PLAY) }) as fc.Arbitrary<Attempt>, weight: 5 },
  { arbitrary: fc.record({ kind: fc.constantFrom('reject', 'revoke'), by: person }) as fc.Arbitrary<Attempt>, weight: 1 },
);
const scenario = fc.record({
  kind: fc.constantFrom('standard', 'normal', 'emergency'),
  author: person,
  /** The person behind a CI submission, if it came through CI. */
  initiator: fc.option(person, { nil: undefined }),
  rolesOf: fc.record(Object.fromEntries(PEOPLE.map((p) => [p, fc.subarray([...ROLES_IN_PLAY], { minLength: 1 })])) as Record<Person, fc.Arbitrary<Role[]>>),
  onCall: fc.subarray([...PEOPLE]),
  attempts: fc.array(attempt, { maxLength: 60 }),
});

function tryDecide<C, E, S>(decider: { decide: (c: C, s: S) => E[]; evolve: (s: S, e: E) => S }, command: C, state: S): S {
  try {
    return decider.decide(command, state).reduce(decider.evolve, state);
  } catch (error) {
    // A refusal is what the rules are for; anything else is a bug the property must surface.
    if (error instanceof DomainError) return state;
    throw error;
  }
}

describe('separation of duties, over random sequences of attempts', () => {
  it('no sequence makes a production change deployable without the matrix met by distinct, entitled people who are neither author nor initiator', () => {
    let deployable = 0;
    fc.assert(
      fc.property(scenario, ({ kind, author, initiator, rolesOf, onCall, attempts }) => {
        const submit: ChangeRequestCommand = {
          type: 'SubmitChangeRequest',
          data: {
            changeRequestId: CR,
            kind,
            draft: {
              title: 't', description: 'd', type: 'bug_fix', priority: 'low', impact: 'low', risk: 'low', size: 'small', likelihood: 'low',
              environments: ['production'], schedule: { planned: '2026-12-01T10:00:00Z', duration: 30 },
              implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't', runbookRef: 'RB-1',
              ...(kind === 'standard' ? { standardTemplateId: 'feature-flag-toggle' } : {}),
              author, ...(initiator === undefined ? {} : { initiator }),
            },
            environmentRules: RULES,
            outsideWindows: false,
            now: NOW,
          },
        };
        let change: ChangeRequestState = tryDecide(changeRequestDecider, submit, changeRequestDecider.initialState());
        let approval: ApprovalState = approvalDecider.initialState();
        const owners = new Set<string>([author, ...(initiator === undefined ? [] : [initiator])]);

        const glue = (): void => {
          if (change.status === 'awaiting_approval' && approval.status === 'not_requested') {
            const request: ApprovalCommand = {
              type: 'RequestApprovals',
              data: {
                approvalId: CR,
                subject: { changeRequestId: CR, releaseId: null, environment: 'production', revision: 0 },
                author,
                ...(initiator === undefined ? {} : { initiator }),
                kind: change.kind,
                includesMigration: false,
                emergencyOutsideWindows: false,
                matrix: productionMatrix,
                emergency: productionEmergency,
                policyVersion: 'sha256:prop',
                now: NOW,
              },
            };
            approval = tryDecide(approvalDecider, request, approval);
          }
          if (approval.status === 'approved' && change.status === 'awaiting_approval') {
            change = tryDecide(changeRequestDecider, { type: 'RecordChangeApproval', data: { changeRequestId: CR, approvalId: CR, now: NOW } }, change);
          }
          // A revoked grant takes a full approval back: the change waits for approval again (ApprovalRevoked → WithdrawChangeApproval).
          if (approval.status === 'pending' && change.status === 'approved') {
            change = tryDecide(
              changeRequestDecider,
              { type: 'WithdrawChangeApproval', data: { changeRequestId: CR, approvalId: CR, cause: 'revoked', withdrawnBy: 'approvals', reason: 'revoked', now: NOW } },
              change,
            );
          }
          if (approval.status === 'rejected' && (change.status === 'awaiting_approval' || change.status === 'in_review')) {
            change = tryDecide(changeRequestDecider, { type: 'RejectChangeRequest', data: { changeRequestId: CR, rejectedBy: 'approvals', reason: 'rejected', now: NOW } }, change);
          }
        };

        const check = (): void => {
          if (change.status === 'not_submitted') return;
          if (change.status !== 'approved') return;
          // Deployable: every requirement of the matrix is filled, nobody twice, nobody who owns the change.
          expect(approval.status).toBe('approved');
          if (approval.status === 'not_requested') return;
          const expected = EXPECTED_REQUIREMENTS[change.kind === 'emergency' ? 'emergency' : 'normal'];
          for (const requirement of expected) {
            const fills = approval.grants.filter((g) => g.role === requirement.role);
            expect(fills.length).toBeGreaterThanOrEqual(1);
            for (const fill of fills) {
              expect(rolesOf[fill.approver as Person]).toContain(fill.role);
              if (requirement.onCall) expect(onCall).toContain(fill.approver);
            }
          }
          const approvers = approval.grants.map((g) => g.approver);
          expect(new Set(approvers).size).toBe(approvers.length);
          for (const approver of approvers) expect(owners.has(approver)).toBe(false);
        };

        glue();
        check();
        for (const a of attempts) {
          switch (a.kind) {
            case 'startReview':
              change = tryDecide(changeRequestDecider, { type: 'StartChangeReview', data: { changeRequestId: CR, reviewer: a.by, now: NOW } }, change);
              break;
            case 'completeReview':
              change = tryDecide(changeRequestDecider, { type: 'CompleteChangeReview', data: { changeRequestId: CR, reviewer: a.by, notes: '', now: NOW } }, change);
              break;
            case 'validate':
              change = tryDecide(
                changeRequestDecider,
                {
                  type: 'SignOffPostDeploymentValidation',
                  data: { changeRequestId: CR, environment: 'production', validation: { checks: [], timeoutMinutes: 30, onTimeout: 'fail', signOff: { roles: [...ROLES_IN_PLAY], optional: false } }, signer: a.by, signerRoles: rolesOf[a.by], closedBy: 'change-lifecycle', now: NOW },
                },
                change,
              );
              break;
            case 'closeWithReview':
              change = tryDecide(changeRequestDecider, { type: 'CloseChange', data: { changeRequestId: CR, closedBy: a.by, postImplementationReviewRef: 'PIR-1', now: NOW } }, change);
              break;
            case 'grant':
              approval = tryDecide(
                approvalDecider,
                { type: 'GrantApproval', data: { approvalId: CR, approver: a.by, approverRoles: rolesOf[a.by], approverOnCall: onCall.includes(a.by), role: a.role, now: NOW } },
                approval,
              );
              break;
            case 'reject':
              approval = tryDecide(approvalDecider, { type: 'RejectApproval', data: { approvalId: CR, approver: a.by, approverRoles: rolesOf[a.by], reason: 'no', now: NOW } }, approval);
              break;
            case 'revoke':
              approval = tryDecide(
                approvalDecider,
                { type: 'RevokeApproval', data: { approvalId: CR, approver: a.by, reason: 'second thoughts', change: { status: change.status === 'not_submitted' ? 'submitted' : change.status, window: null }, now: NOW } },
                approval,
              );
              break;
          }
          glue();
          check();
        }
        if (change.status === 'approved') deployable += 1;
        // A standard change never reaches production: its catalogue there is empty.
        if (kind === 'standard') expect(change.status).toBe('not_submitted');
      }),
      { numRuns: 3_000 },
    );
    // Not vacuous: some of the random sequences do reach an approved change, and were checked.
    expect(deployable).toBeGreaterThan(0);
  });
});
