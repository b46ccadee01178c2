import type { Role } from '@gatehouse/policy';
import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, ReasonRequiredError, SeparationOfDutiesViolation } from '../errors.js';
import type { ReleaseApprovalsInvalidated } from '../release/release.js';
import {
  approvalDecider,
  ApproverLacksRoleError,
  DeploymentAlreadyStartedError,
  DuplicateApprovalError,
  invalidationFor,
  NoApprovalToRevokeError,
  OnCallRequiredError,
  outstandingApprovals,
  RequirementAlreadyMetError,
  RoleNotRequiredError,
  type ApprovalEvent,
  type ApprovalsRequested,
  type RequestApprovals,
  type RevokeApproval,
} from './approvals.js';
import { productionEmergency, productionMatrix, stagingMatrix } from './fixtures.js';
import { computeRequiredApprovals, EmergencyPathNotAllowedError } from './requiredApprovals.js';

const spec = DeciderSpecification.for(approvalDecider);
const NOW = new Date('2026-12-01T08:00:00Z');
const subject = { changeRequestId: 'cr-1', releaseId: 'rel-1', environment: 'production', revision: 1 };

const requestCommand = (overrides: Partial<RequestApprovals['data']> = {}): RequestApprovals => ({
  type: 'RequestApprovals',
  data: {
    approvalId: 'apr-1',
    subject,
    author: 'alice',
    kind: 'normal',
    includesMigration: false,
    emergencyOutsideWindows: false,
    matrix: productionMatrix,
    emergency: productionEmergency,
    policyVersion: 'sha256:prod-v7',
    now: NOW,
    ...overrides,
  },
});
const requested = (overrides: Partial<RequestApprovals['data']> = {}): ApprovalsRequested => approvalDecider.decide(requestCommand(overrides), approvalDecider.initialState())[0] as ApprovalsRequested;

const grant = (approver: string, role: Role, roles: Role[] = [role], approverOnCall = false) =>
  ({ type: 'GrantApproval', data: { approvalId: 'apr-1', approver, approverRoles: roles, approverOnCall, role, now: NOW } }) as const;
const granted = (approver: string, role: Role, onCall = false): ApprovalEvent => ({
  type: 'ApprovalGranted',
  data: { approvalId: 'apr-1', role, approver, onCall, comment: null, grantedAt: NOW.toISOString() },
});

describe('required approvals', () => {
  it('production normal change: code review + tech lead + SRE', () => {
    expect(computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'normal', includesMigration: false, emergencyOutsideWindows: false }).map((r) => r.role)).toEqual([
      'code_reviewer',
      'tech_lead',
      'sre',
    ]);
  });

  it('a migration adds the separate DBA approval', () => {
    const required = computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'normal', includesMigration: true, emergencyOutsideWindows: false });
    expect(required.at(-1)).toEqual({ role: 'dba', count: 1, onCall: false, sources: ['migration'] });
  });

  it('an emergency uses the expedited path (tech lead + SRE on call), VP Engineering only outside windows', () => {
    const inWindow = computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'emergency', includesMigration: false, emergencyOutsideWindows: false });
    expect(inWindow).toEqual([
      { role: 'tech_lead', count: 1, onCall: false, sources: ['emergency'] },
      { role: 'sre', count: 1, onCall: true, sources: ['emergency'] },
    ]);
    const blackout = computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'emergency', includesMigration: false, emergencyOutsideWindows: true });
    expect(blackout.map((r) => `${r.role}:${r.sources.join('+')}`)).toEqual(['tech_lead:emergency', 'sre:emergency', 'vp_engineering:window_bypass']);
  });

  it('merges the same role from two sources (highest count, on call if any)', () => {
    const matrix = { ...productionMatrix, migrationApproval: { role: 'sre' as const, count: 2, onCall: false } };
    const required = computeRequiredApprovals('production', matrix, productionEmergency, { kind: 'emergency', includesMigration: true, emergencyOutsideWindows: false });
    expect(required.find((r) => r.role === 'sre')).toEqual({ role: 'sre', count: 2, onCall: true, sources: ['emergency', 'migration'] });
  });

  it('standard changes need nothing when pre-approved', () => {
    expect(computeRequiredApprovals('staging', stagingMatrix, productionEmergency, { kind: 'standard', includesMigration: false, emergencyOutsideWindows: false })).toEqual([]);
    // Production's catalogue is empty: a standard change there would need the whole matrix.
    expect(computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'standard', includesMigration: false, emergencyOutsideWindows: false }).map((r) => r.role)).toEqual([
      'code_reviewer',
      'tech_lead',
      'sre',
    ]);
  });

  it('refuses an emergency where the policy has no emergency path', () => {
    expect(() =>
      computeRequiredApprovals('staging', stagingMatrix, { ...productionEmergency, allowed: false }, { kind: 'emergency', includesMigration: false, emergencyOutsideWindows: false }),
    ).toThrow(EmergencyPathNotAllowedError);
  });
});

describe('Approvals: granting', () => {
  it('opens the request with requirements and the policy version', () => {
    spec.given([]).when(requestCommand()).thenEvents(([e]) => expect(e).toMatchObject({ type: 'ApprovalsRequested', data: { policyVersion: 'sha256:prod-v7', author: 'alice' } }));
  });

  it('approves immediately when nothing is required', () => {
    spec
      .given([])
      .when(requestCommand({ kind: 'standard', matrix: stagingMatrix, subject: { ...subject, environment: 'staging' } }))
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['ApprovalsRequested', 'ChangeFullyApproved']);
        expect(state.status).toBe('approved');
      });
  });

  it('emits ChangeFullyApproved with who filled which requirement under which policy', () => {
    spec
      .given([requested(), granted('carol', 'code_reviewer'), granted('tom', 'tech_lead')])
      .when(grant('sam', 'sre'))
      .then([
        granted('sam', 'sre'),
        {
          type: 'ChangeFullyApproved',
          data: {
            approvalId: 'apr-1',
            subject,
            fills: [
              { role: 'code_reviewer', sources: ['matrix'], onCallRequired: false, approvers: ['carol'] },
              { role: 'tech_lead', sources: ['matrix'], onCallRequired: false, approvers: ['tom'] },
              { role: 'sre', sources: ['matrix'], onCallRequired: false, approvers: ['sam'] },
            ],
            basis: 'requirements_met',
            separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true },
            policyVersion: 'sha256:prod-v7',
            approvedAt: NOW.toISOString(),
          },
        },
      ]);
  });

  it('keeps waiting while requirements are outstanding', () => {
    spec.given([requested()]).when(grant('carol', 'code_reviewer')).then([granted('carol', 'code_reviewer')]);
    const state = [requested(), granted('carol', 'code_reviewer')].reduce(approvalDecider.evolve, approvalDecider.initialState());
    expect(outstandingApprovals(state).map((o) => o.role)).toEqual(['tech_lead', 'sre']);
  });

  it('refuses the author approving their own change', () => {
    spec
      .given([requested()])
      .when(grant('alice', 'tech_lead'))
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'alice' && e.rule === 'author_cannot_approve');
  });

  it('refuses the person who pushed a CI-submitted change approving it', () => {
    spec
      .given([requested({ author: 'ingest:github-actions', initiator: 'ivan' })])
      .when(grant('ivan', 'tech_lead'))
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'ivan' && e.rule === 'author_cannot_approve' && e.reason.includes('initiated the change through CI'));
  });

  it('refuses one person filling two required roles', () => {
    spec
      .given([requested(), granted('tom', 'tech_lead')])
      .when(grant('tom', 'sre', ['tech_lead', 'sre']))
      .thenThrows(SeparationOfDutiesViolation, (e) => e.rule === 'one_person_one_role' && e.reason.includes('already approved as tech_lead'));
  });

  it('allows it when the matrix does not demand distinct approvers', () => {
    const relaxed = requested({ matrix: { ...productionMatrix, separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: false } } });
    spec.given([relaxed, granted('tom', 'tech_lead')]).when(grant('tom', 'sre', ['tech_lead', 'sre'])).thenEvents((events) => expect(events).toHaveLength(1));
  });

  it('refuses an approver without the role', () => {
    spec.given([requested()]).when(grant('dev-dan', 'sre', ['developer'])).thenThrows(ApproverLacksRoleError, (e) => e.approver === 'dev-dan' && e.role === 'sre');
  });

  it('refuses a role the change does not need (VP Engineering on a normal change)', () => {
    spec.given([requested()]).when(grant('vera', 'vp_engineering')).thenThrows(RoleNotRequiredError, (e) => e.requiredRoles.join() === 'code_reviewer,tech_lead,sre');
  });

  it('refuses the same approval twice and an extra approval for a met requirement', () => {
    spec.given([requested(), granted('tom', 'tech_lead')]).when(grant('tom', 'tech_lead')).thenThrows(DuplicateApprovalError);
    spec.given([requested(), granted('tom', 'tech_lead')]).when(grant('tina', 'tech_lead')).thenThrows(RequirementAlreadyMetError, (e) => e.count === 1);
  });

  it('hotfix: the SRE approval must come from the on-call SRE', () => {
    const emergency = requested({ kind: 'emergency' });
    spec.given([emergency]).when(grant('sam', 'sre', ['sre'], false)).thenThrows(OnCallRequiredError, (e) => e.approver === 'sam' && e.role === 'sre');
    spec.given([emergency, granted('tom', 'tech_lead')]).when(grant('olga', 'sre', ['sre'], true)).thenEvents((events) => expect(events.map((e) => e.type)).toEqual(['ApprovalGranted', 'ChangeFullyApproved']));
  });

  it('emergency in the Black Friday blackout also needs VP Engineering', () => {
    const blackout = requested({ kind: 'emergency', emergencyOutsideWindows: true, now: new Date('2026-11-26T03:00:00Z') });
    spec
      .given([blackout, granted('tom', 'tech_lead'), granted('olga', 'sre', true)])
      .when(grant('vera', 'vp_engineering'))
      .thenEvents(([, approved]) => expect(approved?.type === 'ChangeFullyApproved' && approved.data.fills.map((f) => f.sources[0])).toEqual(['emergency', 'emergency', 'window_bypass']));
  });
});

describe('Approvals: rejection, revocation, invalidation', () => {
  it('a rejection with a reason ends the request', () => {
    spec
      .given([requested()])
      .when({ type: 'RejectApproval', data: { approvalId: 'apr-1', approver: 'sam', approverRoles: ['sre'], reason: 'no rollback plan for the migration', now: NOW } })
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ approver: 'sam', reason: 'no rollback plan for the migration' });
        expect(state.status).toBe('rejected');
      });
    const rejected: ApprovalEvent = { type: 'ApprovalRejected', data: { approvalId: 'apr-1', subject, approver: 'sam', reason: 'x', rejectedAt: NOW.toISOString() } };
    spec.given([requested(), rejected]).when(grant('tom', 'tech_lead')).thenThrows(IllegalTransitionError, (e) => e.status === 'rejected');
  });

  it('refuses a rejection without a reason, or by someone without a required role', () => {
    spec
      .given([requested()])
      .when({ type: 'RejectApproval', data: { approvalId: 'apr-1', approver: 'sam', approverRoles: ['sre'], reason: '', now: NOW } })
      .thenThrows(ReasonRequiredError);
    spec
      .given([requested()])
      .when({ type: 'RejectApproval', data: { approvalId: 'apr-1', approver: 'dan', approverRoles: ['developer'], reason: 'meh', now: NOW } })
      .thenThrows(ApproverLacksRoleError);
  });

  const fully = [requested(), granted('carol', 'code_reviewer'), granted('tom', 'tech_lead'), ...approvalDecider.decide(grant('sam', 'sre'), [requested(), granted('carol', 'code_reviewer'), granted('tom', 'tech_lead')].reduce(approvalDecider.evolve, approvalDecider.initialState()))];
  /** Production's Tuesday 10:00Z window, booked; NOW is two hours before it. */
  const booked = { start: '2026-12-01T10:00:00Z', end: '2026-12-01T12:00:00Z' };
  const revoke = (change: RevokeApproval['data']['change'], approver = 'sam', now = NOW): RevokeApproval => ({
    type: 'RevokeApproval',
    data: { approvalId: 'apr-1', approver, reason: 'saw new error budget burn', change, now },
  });

  it('revoking a grant of a fully approved change reopens it, before its deployment slot', () => {
    spec
      .given(fully)
      .when(revoke({ status: 'scheduled', window: booked }))
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ role: 'sre', wasFullyApproved: true });
        expect(state.status).toBe('pending');
        expect(outstandingApprovals(state)).toEqual([{ role: 'sre', missing: 1, onCall: false }]);
      });
    spec.given(fully).when(revoke({ status: 'scheduled', window: booked }, 'nobody')).thenThrows(NoApprovalToRevokeError);
  });

  it('a new grant after the revocation approves the change a second time', () => {
    const revoked = approvalDecider.decide(revoke({ status: 'approved', window: null }), fully.reduce(approvalDecider.evolve, approvalDecider.initialState()));
    spec
      .given([...fully, ...revoked])
      .when(grant('erin', 'sre'))
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['ApprovalGranted', 'ChangeFullyApproved']);
        expect(state.status).toBe('approved');
      });
  });

  it('refuses a revocation once the deployment started: it could no longer stop it', () => {
    spec
      .given(fully)
      .when(revoke({ status: 'implementing', window: booked }, 'sam', new Date('2026-12-01T10:05:00Z')))
      .thenThrows(DeploymentAlreadyStartedError, (e) => e.changeStatus === 'implementing' && e.slotStart === null && e.message.includes('abort the deployment or roll it back'));
    spec.given(fully).when(revoke({ status: 'closed', window: booked })).thenThrows(DeploymentAlreadyStartedError);
  });

  it('refuses it from the start of the booked slot, when the deployment-due timer fires', () => {
    spec
      .given(fully)
      .when(revoke({ status: 'scheduled', window: booked }, 'sam', new Date('2026-12-01T10:00:00Z')))
      .thenThrows(DeploymentAlreadyStartedError, (e) => e.slotStart === booked.start);
  });

  it('a release content change invalidates every grant', () => {
    const releaseChanged: ReleaseApprovalsInvalidated = {
      type: 'ReleaseApprovalsInvalidated',
      data: { releaseId: 'rel-1', approvalId: 'apr-1', previousRevision: 1, revision: 2, reason: 'release content changed by bob', invalidatedAt: NOW.toISOString() },
    };
    const command = invalidationFor(releaseChanged, NOW);
    if (command === null) throw new Error('expected a command');
    spec
      .given([requested(), granted('carol', 'code_reviewer'), granted('tom', 'tech_lead')])
      .when(command)
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({
          previousRevision: 1,
          revision: 2,
          invalidatedGrants: [{ role: 'code_reviewer', approver: 'carol' }, { role: 'tech_lead', approver: 'tom' }],
          wasFullyApproved: false,
        });
        expect(e?.data).not.toHaveProperty('requirements');
        expect(state.status === 'pending' && state.grants).toEqual([]);
        expect(state.status !== 'not_requested' && state.subject.revision).toBe(2);
      });
    expect(invalidationFor({ ...releaseChanged, data: { ...releaseChanged.data, approvalId: null } }, NOW)).toBeNull();
  });

  it('a migration added to the release: the approval is collected again, now with the DBA, and says the change had been fully approved', () => {
    const migrationAdded: ReleaseApprovalsInvalidated = {
      type: 'ReleaseApprovalsInvalidated',
      data: { releaseId: 'rel-1', approvalId: 'apr-1', previousRevision: 1, revision: 2, reason: 'irreversible migration 0042 added by ci-bot', invalidatedAt: NOW.toISOString() },
    };
    const withMigration = computeRequiredApprovals('production', productionMatrix, productionEmergency, { kind: 'normal', includesMigration: true, emergencyOutsideWindows: false });
    const command = invalidationFor(migrationAdded, NOW, { requirements: withMigration, policyVersion: 'sha256:prod-v8' });
    if (command === null) throw new Error('expected a command');
    spec
      .given(fully)
      .when(command)
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ wasFullyApproved: true, requirements: withMigration, policyVersion: 'sha256:prod-v8' });
        expect(state.status).toBe('pending');
        expect(outstandingApprovals(state).map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead', 'sre', 'dba']);
      });
  });
});
