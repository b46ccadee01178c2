import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, ReasonRequiredError } from '../errors.js';
import { AnalysisDecisionForbiddenError, type AnalysisResult } from '../rollback/analysis.js';
import { RollbackWindowExpiredError } from '../rollback/manualRollback.js';
import {
  deploymentDecider,
  NothingToPromoteError,
  openDeploymentIntents,
  StepAnalysisFailedError,
  PlanNotFinishedError,
  StepAnalysisInProgressError,
  StepOutOfOrderError,
  type DeploymentEvent,
  type DeploymentStep,
} from './deployment.js';

const spec = DeciderSpecification.for(deploymentDecider);
const ids = { deploymentId: 'dep-1', changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production' };
const steps: DeploymentStep[] = [
  { index: 0, name: 'shift 5% of traffic to canary', trafficPercent: 5, durationMinutes: 40, analysis: true },
  { index: 1, name: 'shift 25% of traffic to canary', trafficPercent: 25, durationMinutes: 40, analysis: true },
  { index: 2, name: 'promote canary to 100% of traffic', trafficPercent: 100, durationMinutes: 40, analysis: true },
];
const productionRollback = { manualWindowMinutes: 240, beyondWindow: 'incident_review' } as const;
const at = (iso: string) => new Date(iso);

const started: DeploymentEvent = { type: 'DeploymentStarted', data: { ...ids, strategy: 'canary', steps, previousVersion: '2.0.3', startedAt: '2026-12-01T10:00:00.000Z' } };
const stepStarted = (index: number, atIso: string, until: string): DeploymentEvent => {
  const s = steps[index]!;
  return { type: 'DeploymentStepStarted', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', index, name: s.name, trafficPercent: s.trafficPercent, at: atIso, analysisUntil: until, effectId: `dep-1:step-${index}:apply` } };
};
const stepCompleted = (index: number, atIso: string): DeploymentEvent => {
  const s = steps[index]!;
  return { type: 'DeploymentStepCompleted', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', index, name: s.name, trafficPercent: s.trafficPercent, at: atIso } };
};
const step0 = stepStarted(0, '2026-12-01T10:00:00.000Z', '2026-12-01T10:40:00.000Z');
const all = [started, step0, stepCompleted(0, '2026-12-01T10:40:00.000Z'), stepStarted(1, '2026-12-01T10:40:00.000Z', '2026-12-01T11:20:00.000Z'), stepCompleted(1, '2026-12-01T11:20:00.000Z'), stepStarted(2, '2026-12-01T11:20:00.000Z', '2026-12-01T12:00:00.000Z'), stepCompleted(2, '2026-12-01T12:00:00.000Z')];
const succeeded: DeploymentEvent = { type: 'DeploymentSucceeded', data: { ...ids, completedAt: '2026-12-01T12:00:00.000Z' } };
/** The intent to restore 2.0.3, as recorded at 10:10 before the cluster is touched. */
const restoreIntent = (ending: 'rolled_back' | 'failed' | 'aborted', facts: Record<string, unknown>, requestedAt = '2026-12-01T10:10:00.000Z'): DeploymentEvent =>
  ({ type: 'DeploymentRollbackRequested', data: { ...ids, effectId: `dep-1:restore:${ending}`, ending, toVersion: '2.0.3', ...facts, requestedAt } }) as DeploymentEvent;

describe('Deployment: plan execution', () => {
  it('starts with the plan and the version it replaces', () => {
    spec.given([]).when({ type: 'StartDeployment', data: { ...ids, strategy: 'canary', steps, previousVersion: '2.0.3', now: at('2026-12-01T10:00:00Z') } }).then([started]);
  });

  it('starts the first step with its analysis deadline', () => {
    spec.given([started]).when({ type: 'StartDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:00:00Z') } }).then([step0]);
  });

  it('never starts a step twice (a resumed runner repeats the command harmlessly)', () => {
    spec.given([started, step0]).when({ type: 'StartDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:05:00Z') } }).thenNothingHappened();
  });

  it('refuses to skip ahead while a step runs', () => {
    spec.given([started, step0]).when({ type: 'StartDeploymentStep', data: { changeRequestId: 'cr-1', index: 1, now: at('2026-12-01T10:05:00Z') } }).thenThrows(StepOutOfOrderError);
  });

  it('completes a step only once its analysis time is over', () => {
    spec.given([started, step0]).when({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:39:59Z') } }).thenThrows(StepAnalysisInProgressError);
    spec.given([started, step0]).when({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:40:00Z') } }).then([stepCompleted(0, '2026-12-01T10:40:00.000Z')]);
  });

  it('a manual promotion completes the running step early, naming who promoted', () => {
    spec
      .given([started, step0])
      .when({ type: 'PromoteDeployment', data: { changeRequestId: 'cr-1', actor: 'sre-sam', now: at('2026-12-01T10:10:00Z') } })
      .then([{ type: 'DeploymentStepCompleted', data: { ...(stepCompleted(0, '2026-12-01T10:10:00.000Z').data as object), promotedBy: 'sre-sam' } } as DeploymentEvent]);
  });

  it('there is nothing to promote between steps', () => {
    spec.given([started]).when({ type: 'PromoteDeployment', data: { changeRequestId: 'cr-1', actor: 'sre-sam', now: at('2026-12-01T10:10:00Z') } }).thenThrows(NothingToPromoteError);
  });

  it('succeeds only after the last step', () => {
    spec.given([started, step0]).when({ type: 'SucceedDeployment', data: { changeRequestId: 'cr-1', now: at('2026-12-01T10:10:00Z') } }).thenThrows(PlanNotFinishedError);
    spec.given(all).when({ type: 'SucceedDeployment', data: { changeRequestId: 'cr-1', now: at('2026-12-01T12:00:00Z') } }).then([succeeded]);
  });

  it('an abort records the intent to restore the previous version; the abort is recorded once it is restored', () => {
    const intent = restoreIntent('aborted', { reason: 'wrong build', actor: 'sre-sam' });
    spec.given([started, step0]).when({ type: 'AbortDeployment', data: { changeRequestId: 'cr-1', reason: 'wrong build', actor: 'sre-sam', now: at('2026-12-01T10:10:00Z') } }).then([intent]);
    spec
      .given([started, step0, intent])
      .when({ type: 'CompleteRollback', data: { changeRequestId: 'cr-1', effectId: 'dep-1:restore:aborted', now: at('2026-12-01T10:10:05Z') } })
      .then([{ type: 'DeploymentAborted', data: { ...ids, reason: 'wrong build', actor: 'sre-sam', at: '2026-12-01T10:10:05.000Z' } }]);
  });

  it('an aborted deployment takes no further step', () => {
    const aborted: DeploymentEvent = { type: 'DeploymentAborted', data: { ...ids, reason: 'wrong build', actor: 'sre-sam', at: '2026-12-01T10:10:00.000Z' } };
    spec.given([started, step0, aborted]).when({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:40:00Z') } }).thenThrows(IllegalTransitionError);
  });
});

describe('Deployment: rollback (intent before the cluster is touched, outcome after)', () => {
  const rollBack = (now: string, extra: Record<string, unknown> = {}) =>
    ({ type: 'RollBackDeployment', data: { changeRequestId: 'cr-1', reason: 'errors up', initiator: 'manual', actor: 'sre-sam', policy: productionRollback, now: at(now), ...extra } }) as const;
  const complete = (ending: string, now: string) => ({ type: 'CompleteRollback', data: { changeRequestId: 'cr-1', effectId: `dep-1:restore:${ending}`, now: at(now) } }) as const;

  it('a manual rollback mid-plan records the intent with its basis and the version to restore', () => {
    spec
      .given([started, step0])
      .when(rollBack('2026-12-01T10:20:00Z'))
      .then([restoreIntent('rolled_back', { reason: 'errors up', actor: 'sre-sam', initiator: 'manual', basis: 'within_window' }, '2026-12-01T10:20:00.000Z')]);
  });

  it('the rollback is recorded only as the outcome of the restore, with the intent\'s facts', () => {
    const intent = restoreIntent('rolled_back', { reason: 'errors up', actor: 'sre-sam', initiator: 'manual', basis: 'within_window' });
    spec
      .given([started, step0, intent])
      .when(complete('rolled_back', '2026-12-01T10:10:02Z'))
      .then([{ type: 'DeploymentRolledBack', data: { ...ids, reason: 'errors up', initiator: 'manual', actor: 'sre-sam', previousVersion: '2.0.3', basis: 'within_window', at: '2026-12-01T10:10:02.000Z' } }]);
    spec.given([started, step0, intent, { type: 'DeploymentRolledBack', data: { ...ids, reason: 'errors up', initiator: 'manual', actor: 'sre-sam', at: '2026-12-01T10:10:02.000Z' } }]).when(complete('rolled_back', '2026-12-01T10:10:03Z')).thenNothingHappened();
  });

  it('a failed step is recorded as failed only after the previous version is restored', () => {
    const intent = restoreIntent('failed', { reason: 'step 0 failed: CrashLoopBackOff', actor: 'deployments' });
    spec.given([started, step0]).when({ type: 'FailDeployment', data: { changeRequestId: 'cr-1', reason: 'step 0 failed: CrashLoopBackOff', now: at('2026-12-01T10:10:00Z') } }).then([intent]);
    spec.given([started, step0, intent]).when(complete('failed', '2026-12-01T10:10:01Z')).then([{ type: 'DeploymentFailed', data: { ...ids, reason: 'step 0 failed: CrashLoopBackOff', at: '2026-12-01T10:10:01.000Z' } }]);
  });

  it('while the restore is in flight, a second request for it records nothing and the plan takes no step', () => {
    const intent = restoreIntent('rolled_back', { reason: 'errors up', actor: 'sre-sam', initiator: 'manual', basis: 'within_window' });
    spec.given([started, step0, intent]).when(rollBack('2026-12-01T10:11:00Z')).thenNothingHappened();
    spec.given([started, step0, intent]).when({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:40:00Z') } }).thenThrows(IllegalTransitionError);
  });

  it('production: beyond 4 h after completion a manual rollback needs an incident review', () => {
    spec.given([...all, succeeded]).when(rollBack('2026-12-01T16:00:01Z')).thenThrows(RollbackWindowExpiredError);
    spec
      .given([...all, succeeded])
      .when(rollBack('2026-12-01T16:00:01Z', { incidentReviewRef: 'INC-42' }))
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ basis: 'incident_review', incidentReviewRef: 'INC-42' }));
  });

  it('an automatic rollback carries the evidence and is not bound by the manual window', () => {
    const evidence = { triggerId: 'error-rate-above-1-percent', observed: [0.05] };
    spec
      .given([...all, succeeded])
      .when(rollBack('2026-12-02T09:00:00Z', { initiator: 'automatic', actor: 'monitoring', evidence }))
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ initiator: 'automatic', evidence, toVersion: '2.0.3' }));
  });

  it('a second rollback (trigger firing again) changes nothing', () => {
    const rolledBack: DeploymentEvent = { type: 'DeploymentRolledBack', data: { ...ids, reason: 'x', initiator: 'automatic', actor: 'monitoring', at: '2026-12-01T10:20:00.000Z' } };
    spec.given([started, step0, rolledBack]).when(rollBack('2026-12-01T10:21:00Z')).thenNothingHappened();
  });
});

describe('Deployment: effects and their claims', () => {
  const applied: DeploymentEvent = { type: 'DeploymentStepApplied', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', index: 0, effectId: 'dep-1:step-0:apply', at: '2026-12-01T10:00:01.000Z' } };
  const claim = (attempt: number, effectId = 'dep-1:step-0:apply') => ({ type: 'ClaimEffectAttempt', data: { changeRequestId: 'cr-1', effectId, attempt, now: at('2026-12-01T10:05:00Z') } }) as const;
  const fold = (events: DeploymentEvent[]) => events.reduce(deploymentDecider.evolve, deploymentDecider.initialState());

  it('a started step is an open intent to apply it until its outcome is recorded', () => {
    expect(openDeploymentIntents(fold([started, step0]))).toEqual([
      { effect: { kind: 'ApplyDeploymentStep', effectId: 'dep-1:step-0:apply', changeRequestId: 'cr-1', step: { deploymentId: 'dep-1', service: 'campaign-api', environment: 'production', version: '2.1.0', strategy: 'canary', index: 0, name: steps[0]!.name, trafficPercent: 5 } }, attempt: 1 },
    ]);
    spec.given([started, step0]).when({ type: 'RecordStepApplied', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T10:00:01Z') } }).then([applied]);
    expect(openDeploymentIntents(fold([started, step0, applied]))).toEqual([]);
  });

  it('another attempt at an open intent is claimed once: the claim for the same attempt again records nothing', () => {
    const claimed: DeploymentEvent = { type: 'DeploymentEffectClaimed', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', effectId: 'dep-1:step-0:apply', attempt: 2, at: '2026-12-01T10:05:00.000Z' } };
    spec.given([started, step0]).when(claim(2)).then([claimed]);
    spec.given([started, step0, claimed]).when(claim(2)).thenNothingHappened();
    expect(openDeploymentIntents(fold([started, step0, claimed]))[0]?.attempt).toBe(2);
  });

  it('nothing to claim once the outcome is recorded', () => {
    spec.given([started, step0, applied]).when(claim(2)).thenNothingHappened();
  });

  it('a restore in flight is the open intent to roll the workload back to the previous version', () => {
    const intent = restoreIntent('rolled_back', { reason: 'errors up', actor: 'sre-sam', initiator: 'manual' });
    expect(openDeploymentIntents(fold([started, step0, applied, intent]))).toEqual([
      { effect: { kind: 'RollBackWorkload', effectId: 'dep-1:restore:rolled_back', changeRequestId: 'cr-1', to: { deploymentId: 'dep-1', service: 'campaign-api', environment: 'production', version: '2.0.3' } }, attempt: 1 },
    ]);
  });
});

describe('Deployment: an effect refused for good fails the deployment, never retried', () => {
  const fold = (events: DeploymentEvent[]) => events.reduce(deploymentDecider.evolve, deploymentDecider.initialState());
  const refused = (effectId: string, reason: string) => ({ type: 'RecordEffectFailed', data: { changeRequestId: 'cr-1', effectId, reason, now: at('2026-12-01T10:00:02Z') } }) as const;
  const noFlag = 'no feature flag is bound to service campaign-api';
  const stepFailed: DeploymentEvent = {
    type: 'DeploymentEffectFailed',
    data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', effectId: 'dep-1:step-0:apply', effect: 'ApplyDeploymentStep', index: 0, reason: noFlag, attempt: 1, at: '2026-12-01T10:00:02.000Z' },
  };

  it('given a step whose apply was refused, then its failure closes the intent and the previous version is restored, naming the effect and the cause', () => {
    const failing = restoreIntent('failed', { reason: `step 0 (${steps[0]!.name}) failed: ApplyDeploymentStep was refused: ${noFlag}`, actor: 'deployments' }, '2026-12-01T10:00:02.000Z');
    spec.given([started, step0]).when(refused('dep-1:step-0:apply', noFlag)).then([stepFailed, failing]);
    expect(openDeploymentIntents(fold([started, step0, stepFailed])).map((i) => i.effect.kind)).toEqual([]);
    expect(openDeploymentIntents(fold([started, step0, stepFailed, failing])).map((i) => i.effect.kind)).toEqual(['RollBackWorkload']);
  });

  it('a failure recorded again (a redelivery, another replica) changes nothing', () => {
    const failing = restoreIntent('failed', { reason: 'x', actor: 'deployments' }, '2026-12-01T10:00:02.000Z');
    spec.given([started, step0, stepFailed, failing]).when(refused('dep-1:step-0:apply', noFlag)).thenNothingHappened();
    spec.given([started, step0, stepFailed]).when(refused('dep-1:step-0:apply', noFlag)).thenNothingHappened();
  });

  it('a restore refused for good ends the deployment failed, saying what a person must do', () => {
    const intent = restoreIntent('rolled_back', { reason: 'errors up', actor: 'sre-sam', initiator: 'manual' });
    spec
      .given([started, step0, intent])
      .when(refused('dep-1:restore:rolled_back', 'workload campaign-api was deleted'))
      .then([
        { type: 'DeploymentEffectFailed', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', effectId: 'dep-1:restore:rolled_back', effect: 'RollBackWorkload', reason: 'workload campaign-api was deleted', attempt: 1, at: '2026-12-01T10:00:02.000Z' } },
        { type: 'DeploymentFailed', data: { ...ids, reason: 'errors up; then RollBackWorkload to 2.0.3 was refused: workload campaign-api was deleted; restore the workload by hand', at: '2026-12-01T10:00:02.000Z' } },
      ]);
  });

  it('needs a reason', () => {
    spec.given([started, step0]).when(refused('dep-1:step-0:apply', ' ')).thenThrows(ReasonRequiredError);
  });
});

describe('Deployment: a step whose analysis is inconclusive pauses for a person (Argo Rollouts)', () => {
  const decision = { decisionRoles: ['sre', 'release_engineer'], decisionTimeoutMinutes: 60 };
  const result = (phase: AnalysisResult['phase'], reason = 'no error_rate samples between 10:00 and 10:40'): AnalysisResult => ({ phase, reason, samples: { error_rate: 0 }, from: '2026-12-01T10:00:00.000Z', until: '2026-12-01T10:40:00.000Z' });
  const complete = (analysis: AnalysisResult) => ({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, analysis, decision, now: at('2026-12-01T10:40:00Z') } }) as const;
  const s0 = steps[0]!;
  const fact = { deploymentId: 'dep-1', changeRequestId: 'cr-1', index: 0, name: s0.name, trafficPercent: s0.trafficPercent };
  const paused: DeploymentEvent = { type: 'DeploymentPaused', data: { ...fact, at: '2026-12-01T10:40:00.000Z', analysis: result('Inconclusive'), decisionRoles: ['sre', 'release_engineer'], decideBy: '2026-12-01T11:40:00.000Z' } };
  const promote = (actorRoles: string[], reason?: string) => ({ type: 'PromoteDeployment', data: { changeRequestId: 'cr-1', actor: 'sre-sam', actorRoles, ...(reason !== undefined && { reason }), now: at('2026-12-01T10:50:00Z') } }) as const;
  const abort = (actorRoles: string[]) => ({ type: 'AbortDeployment', data: { changeRequestId: 'cr-1', actor: 'sre-sam', actorRoles, reason: 'metrics pipeline down, not risking it', now: at('2026-12-01T10:50:00Z') } }) as const;

  it('given a step with no samples, when its analysis time is over, then the rollout pauses until the decision deadline', () => {
    spec.given([started, step0]).when(complete(result('Inconclusive'))).then([paused]);
  });

  it('a Successful analysis completes the step and is recorded with it', () => {
    spec.given([started, step0]).when(complete(result('Successful', 'error_rate observed'))).then([{ type: 'DeploymentStepCompleted', data: { ...fact, at: '2026-12-01T10:40:00.000Z', analysis: result('Successful', 'error_rate observed') } }]);
  });

  it('a Failed analysis never completes the step', () => {
    spec.given([started, step0]).when(complete(result('Failed', 'rollback trigger fired'))).thenThrows(StepAnalysisFailedError);
  });

  it('paused: the runner cannot complete it; time alone does not make it a pass', () => {
    spec.given([started, step0, paused]).when({ type: 'CompleteDeploymentStep', data: { changeRequestId: 'cr-1', index: 0, now: at('2026-12-01T11:00:00Z') } }).thenThrows(IllegalTransitionError);
  });

  it('an SRE promotes it with a reason: the decision is recorded, then the step completes', () => {
    spec.given([started, step0, paused]).when(promote(['sre'], 'dashboards healthy; exporter was restarting')).then([
      { type: 'InconclusiveAnalysisDecided', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', index: 0, decision: 'promote', actor: 'sre-sam', actorRoles: ['sre'], reason: 'dashboards healthy; exporter was restarting', at: '2026-12-01T10:50:00.000Z' } },
      { type: 'DeploymentStepCompleted', data: { ...fact, at: '2026-12-01T10:50:00.000Z', promotedBy: 'sre-sam' } },
    ]);
  });

  it('refuses the decision to a role the policy does not name, and without a reason', () => {
    spec.given([started, step0, paused]).when(promote(['developer', 'tech_lead'], 'looks fine to me')).thenThrows(AnalysisDecisionForbiddenError, (e) => e.allowedRoles.includes('sre'));
    spec.given([started, step0, paused]).when(promote(['sre'])).thenThrows(ReasonRequiredError);
    spec.given([started, step0, paused]).when(abort(['developer'])).thenThrows(AnalysisDecisionForbiddenError);
  });

  it('a release engineer aborts it: the decision, then the intent to restore the previous version', () => {
    spec.given([started, step0, paused]).when(abort(['release_engineer'])).thenEvents(([decided, intent]) => {
      expect(decided).toMatchObject({ type: 'InconclusiveAnalysisDecided', data: { decision: 'abort', actor: 'sre-sam' } });
      expect(intent).toMatchObject({ type: 'DeploymentRollbackRequested', data: { ending: 'aborted', toVersion: '2.0.3' } });
    });
  });

  it('without a decision by the deadline it aborts and rolls back by itself', () => {
    const expire = (now: string) => ({ type: 'ExpireAnalysisDecision', data: { changeRequestId: 'cr-1', now: at(now) } }) as const;
    spec.given([started, step0, paused]).when(expire('2026-12-01T11:39:59Z')).thenNothingHappened();
    spec.given([started, step0, paused]).when(expire('2026-12-01T11:40:00Z')).thenEvents(([intent]) =>
      expect(intent).toMatchObject({ type: 'DeploymentRollbackRequested', data: { ending: 'aborted', actor: 'deployments', reason: expect.stringContaining('no decision on the inconclusive analysis of step 0') } }),
    );
  });
});
