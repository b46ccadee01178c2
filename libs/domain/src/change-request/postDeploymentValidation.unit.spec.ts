import type { PostDeploymentValidation } from '@gatehouse/policy';
import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, SeparationOfDutiesViolation } from '../errors.js';
import { changeRequestDecider, type ChangeRequestEvent } from './changeRequest.js';
import { decidePostDeploymentValidation, SignOffRoleRequiredError, UnknownPostDeploymentCheckError, ValidationNotDueError } from './postDeploymentValidation.js';

const spec = DeciderSpecification.for(changeRequestDecider);
const DEPLOYED_AT = '2026-12-01T10:40:00.000Z';
const at = (minutesAfterDeployment: number) => new Date(Date.parse(DEPLOYED_AT) + minutesAfterDeployment * 60_000);
const smokeAndIntegration: PostDeploymentValidation = { checks: [{ name: 'smoke', required: true }, { name: 'integration', required: true }], timeoutMinutes: 30, onTimeout: 'fail' };
const withSignOff: PostDeploymentValidation = { ...smokeAndIntegration, signOff: { roles: ['qa', 'release_engineer'], optional: false } };

describe('decidePostDeploymentValidation', () => {
  const facts = { policy: smokeAndIntegration, deployedAt: DEPLOYED_AT, watchPassed: true, results: [], signOffs: [], now: at(5) };
  const passed = (check: string, minutes = 1) => ({ check, status: 'passed' as const, reportedBy: 'ci', at: at(minutes).toISOString() });

  it('validates only when the watch passed and every required check passed', () => {
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke'), passed('integration')] })).toMatchObject({ decision: 'validated' });
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke')] })).toMatchObject({ decision: 'pending', deadline: at(30).toISOString(), reasons: expect.arrayContaining([expect.stringContaining('waiting for integration')]) });
    expect(decidePostDeploymentValidation({ ...facts, watchPassed: false, results: [passed('smoke'), passed('integration')] })).toMatchObject({ decision: 'pending', reasons: expect.arrayContaining([expect.stringContaining('post-deployment watch')]) });
  });

  it('fails on a failed required check, naming it; the latest result of a check counts', () => {
    const failed = { check: 'integration', status: 'failed' as const, reportedBy: 'ci', at: at(2).toISOString() };
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke'), failed] })).toMatchObject({ decision: 'failed', failedCheck: 'integration' });
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke'), failed, passed('integration', 3)] })).toMatchObject({ decision: 'validated' });
  });

  it('at the timeout, a missing check fails the validation (onTimeout fail) or is let through with a warning (warn)', () => {
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke')], now: at(29) })).toMatchObject({ decision: 'pending' });
    expect(decidePostDeploymentValidation({ ...facts, results: [passed('smoke')], now: at(30) })).toMatchObject({ decision: 'failed', failedCheck: 'integration', timedOut: true });
    const warned = decidePostDeploymentValidation({ ...facts, policy: { ...smokeAndIntegration, onTimeout: 'warn' }, results: [passed('smoke')], now: at(30) });
    expect(warned).toMatchObject({ decision: 'validated', warnings: [expect.stringContaining('without integration (onTimeout: warn)')] });
  });

  it('needs the sign-off the policy asks for; without a policy, the watch alone validates', () => {
    const checked = [passed('smoke'), passed('integration')];
    expect(decidePostDeploymentValidation({ ...facts, policy: withSignOff, results: checked })).toMatchObject({ decision: 'pending', reasons: expect.arrayContaining([expect.stringContaining('sign-off')]) });
    expect(decidePostDeploymentValidation({ ...facts, policy: withSignOff, results: checked, signOffs: [{ signer: 'quinn', at: at(3).toISOString() }] })).toMatchObject({ decision: 'validated' });
    expect(decidePostDeploymentValidation({ ...facts, policy: undefined })).toMatchObject({ decision: 'validated' });
  });
});

describe('Change request: post-deployment validation', () => {
  const submitted: ChangeRequestEvent = changeRequestDecider.decide(
    {
      type: 'SubmitChangeRequest',
      data: {
        changeRequestId: 'cr-1',
        kind: 'normal',
        draft: {
          title: 't', description: 'd', type: 'enhancement', priority: 'medium', impact: 'low', risk: 'low', environments: ['staging'],
          schedule: { planned: '2026-12-01T10:00:00Z', duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't', author: 'alice', initiator: 'ivan',
        },
        environmentRules: { staging: { runbookRequired: false, standardChangesPreApproved: false, standardChangeTemplates: [], exposure: 'pre_production' } },
        outsideWindows: false,
        now: new Date('2026-11-30T09:00:00Z'),
      },
    },
    changeRequestDecider.initialState(),
  )[0]!;
  const validating: ChangeRequestEvent[] = [
    submitted,
    { type: 'ChangeReviewStarted', data: { changeRequestId: 'cr-1', reviewer: 'bob', startedAt: '2026-11-30T10:00:00.000Z' } },
    { type: 'ChangeReviewCompleted', data: { changeRequestId: 'cr-1', reviewer: 'bob', notes: 'ok', completedAt: '2026-11-30T11:00:00.000Z' } },
    { type: 'ChangeRequestApproved', data: { changeRequestId: 'cr-1', approvalId: 'cr-1', approvedAt: '2026-11-30T12:00:00.000Z' } },
    { type: 'ChangeScheduled', data: { changeRequestId: 'cr-1', windowStart: '2026-12-01T10:00:00.000Z', windowEnd: '2026-12-01T10:30:00.000Z', scheduledBy: 'scheduling', scheduledAt: '2026-11-30T12:00:00.000Z' } },
    { type: 'ChangeImplementationStarted', data: { changeRequestId: 'cr-1', implementer: 'deployments', startedAt: '2026-12-01T10:00:00.000Z' } },
    { type: 'ChangeImplemented', data: { changeRequestId: 'cr-1', implementer: 'deployments', completedAt: DEPLOYED_AT } },
  ];
  const facts = (validation: PostDeploymentValidation | undefined = smokeAndIntegration) => ({ changeRequestId: 'cr-1', environment: 'staging', validation, closedBy: 'change-requests' });
  const check = (name: string, status: 'passed' | 'failed', minutes: number, validation?: PostDeploymentValidation) =>
    ({ type: 'RecordPostDeploymentCheck', data: { ...facts(validation), check: name, status, reportedBy: 'ci-bot', now: at(minutes) } }) as const;
  const watchPassed = (minutes: number, validation?: PostDeploymentValidation) => ({ type: 'CompletePostDeploymentWatch', data: { ...facts(validation), now: at(minutes) } }) as const;
  const decided = (events: ChangeRequestEvent[], command: Parameters<typeof changeRequestDecider.decide>[0]) => {
    let state = events.reduce(changeRequestDecider.evolve, changeRequestDecider.initialState());
    const out = changeRequestDecider.decide(command, state);
    state = out.reduce(changeRequestDecider.evolve, state);
    return { events: [...events, ...out], decided: out, state };
  };

  it('a completed watch alone does not validate while checks are missing; the last required check validates and closes it', () => {
    const watched = decided(validating, watchPassed(10));
    expect(watched.decided.map((e) => e.type)).toEqual(['PostDeploymentWatchPassed']);
    expect(watched.state.status).toBe('validating');
    const smoke = decided(watched.events, check('smoke', 'passed', 11));
    expect(smoke.state.status).toBe('validating');
    const integration = decided(smoke.events, check('integration', 'passed', 12));
    expect(integration.decided.map((e) => e.type)).toEqual(['PostDeploymentCheckRecorded', 'ChangeValidated', 'ChangeClosed']);
    expect(integration.state.status).toBe('closed');
  });

  it('without a policy, the completed watch validates and closes the change as before', () => {
    const noPolicy = { type: 'CompletePostDeploymentWatch', data: { changeRequestId: 'cr-1', environment: 'development', validation: undefined, closedBy: 'change-requests', now: at(10) } } as const;
    spec.given(validating).when(noPolicy).thenEvents((events, state) => {
      expect(events.map((e) => e.type)).toEqual(['ChangeValidated', 'ChangeClosed']);
      expect(state.status).toBe('closed');
    });
  });

  it('a failed required check makes the change validation_failed, naming the check', () => {
    spec.given(validating).when(check('smoke', 'failed', 3)).thenEvents((events, state) => {
      expect(events[1]).toMatchObject({ type: 'ChangeValidated', data: { outcome: 'failed', notes: expect.stringContaining('"smoke" failed') } });
      expect(state.status).toBe('validation_failed');
    });
  });

  it('refuses a check the policy does not name, or a result for a change that is not validating', () => {
    spec.given(validating).when(check('load', 'passed', 3)).thenThrows(UnknownPostDeploymentCheckError, (e) => e.message.includes('smoke, integration'));
    spec.given(validating.slice(0, -1)).when(check('smoke', 'passed', 3)).thenThrows(IllegalTransitionError, (e) => e.status === 'implementing');
  });

  it('times out on the clock: fail → validation_failed; a late result is recorded and changes nothing', () => {
    const timeOut = (minutes: number) => ({ type: 'TimeOutPostDeploymentValidation', data: { ...facts(), now: at(minutes) } }) as const;
    const smoke = decided(validating, check('smoke', 'passed', 2)).events;
    spec.given(smoke).when(timeOut(29)).thenThrows(ValidationNotDueError);
    const timedOut = decided(smoke, timeOut(30));
    expect(timedOut.decided).toEqual([
      expect.objectContaining({ type: 'PostDeploymentValidationTimedOut', data: expect.objectContaining({ missing: ['integration'], onTimeout: 'fail' }) }),
      expect.objectContaining({ type: 'ChangeValidated', data: expect.objectContaining({ outcome: 'failed' }) }),
    ]);
    expect(timedOut.state.status).toBe('validation_failed');
    const late = decided(timedOut.events, check('integration', 'passed', 31));
    expect(late.decided).toEqual([expect.objectContaining({ type: 'PostDeploymentCheckRecorded', data: expect.objectContaining({ late: true }) })]);
    expect(late.state.status).toBe('validation_failed');
  });

  it('the sign-off: never by the author or the CI initiator, only in a role the policy names', () => {
    const signOff = (signer: string, roles: string[]) => ({ type: 'SignOffPostDeploymentValidation', data: { ...facts(withSignOff), signer, signerRoles: roles, now: at(5) } }) as const;
    spec.given(validating).when(signOff('alice', ['qa'])).thenThrows(SeparationOfDutiesViolation, (e) => e.rule === 'author_cannot_validate');
    spec.given(validating).when(signOff('ivan', ['qa'])).thenThrows(SeparationOfDutiesViolation, (e) => e.reason.includes('initiated (through CI)'));
    spec.given(validating).when(signOff('dave', ['developer'])).thenThrows(SignOffRoleRequiredError);
    const checked = decided(decided(decided(validating, check('smoke', 'passed', 1, withSignOff)).events, check('integration', 'passed', 2, withSignOff)).events, watchPassed(3, withSignOff));
    expect(checked.state.status).toBe('validating');
    spec.given(checked.events).when(signOff('quinn', ['qa'])).thenEvents((events, state) => {
      expect(events.map((e) => e.type)).toEqual(['PostDeploymentValidationSignedOff', 'ChangeValidated', 'ChangeClosed']);
      expect(state.status).toBe('closed');
    });
  });
});
