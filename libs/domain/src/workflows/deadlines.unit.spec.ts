import { DeciderSpecification, WorkflowSpecification } from '@gatehouse/testing';
import type { HotfixEvent } from '../hotfix/hotfix.js';
import type { ReleasePlanEvent } from '../release/releasePlan.js';
import type { PostDeploymentValidation } from '@gatehouse/policy';
import { hotfixDeadlinesWorkflow, type ReleasePlanDeadlineOutput, releasePlanDeadlinesWorkflow, type ValidationTimeoutEvent, validationTimeoutWorkflow } from './deadlines.js';
import { type WorkflowTimerCommand, workflowTimerDecider, type WorkflowTimerEvent } from './timers.js';

const hotfix = WorkflowSpecification.for(hotfixDeadlinesWorkflow);
const identified = (severity: 'critical' | 'high' = 'critical'): HotfixEvent => ({
  type: 'IncidentIdentified',
  data: {
    hotfixId: 'hf-1',
    incidentId: 'INC-42',
    service: 'checkout',
    severity,
    identifiedAt: '2026-11-26T02:50:00.000Z',
    reportedBy: 'pager',
    slaDueAt: severity === 'critical' ? '2026-11-26T04:50:00.000Z' : null,
    slaMinutes: severity === 'critical' ? 120 : null,
    stagingValidationMaxMinutes: 30,
    postIncidentReviewWithinHours: 24,
    enhancedMonitoring: true,
    branchFromProductionTag: true,
  },
});
const check = { type: 'CheckHotfixDeadlines', data: { hotfixId: 'hf-1' } } as const;

describe('Hotfix deadlines workflow (timers as outputs)', () => {
  it('arms the SLA at identification, firing at the SLA instant', () =>
    hotfix
      .given([])
      .when({ event: identified() })
      .then([{ kind: 'schedule', timerId: 'hotfix-hf-1:sla', at: new Date('2026-11-26T04:50:00.000Z'), target: 'hotfix', streamId: 'hotfix-hf-1', command: check }]));

  it('arms no SLA for a severity without one', () => hotfix.given([]).when({ event: identified('high') }).then([{ kind: 'ignore', reason: 'no SLA for this severity' }]));

  it('arms the validation cap just after its deadline (the cap holds once the deadline has passed)', () =>
    hotfix
      .given([])
      .when({ event: { type: 'StagingValidationStarted', data: { hotfixId: 'hf-1', releaseId: 'rel-hf', version: '2.0.4', startedAt: '2026-11-26T03:20:00.000Z', deadline: '2026-11-26T03:50:00.000Z' } } })
      .then([{ kind: 'schedule', timerId: 'hotfix-hf-1:validation-cap', at: new Date('2026-11-26T03:50:00.001Z'), target: 'hotfix', streamId: 'hotfix-hf-1', command: check }]));

  it('cancels the validation cap when validation concludes', () =>
    hotfix
      .given([])
      .when({ event: { type: 'StagingValidationCompleted', data: { hotfixId: 'hf-1', outcome: 'passed', notes: '', durationMinutes: 20, completedAt: '2026-11-26T03:40:00.000Z' } } })
      .then([{ kind: 'cancel', timerId: 'hotfix-hf-1:validation-cap', reason: 'staging validation concluded' }]));

  it('cancels the SLA when the fix is deployed', () =>
    hotfix
      .given([])
      .when({ event: { type: 'HotfixDeployedToProduction', data: { hotfixId: 'hf-1', deploymentId: 'dep-1', deployedAt: '2026-11-26T04:10:00.000Z', minutesSinceIdentification: 80, enhancedMonitoring: true } } })
      .then([{ kind: 'cancel', timerId: 'hotfix-hf-1:sla', reason: 'the fix was deployed' }]));

  it('arms the post-incident review when it falls due, and the recorded review cancels it', () => {
    hotfix
      .given([])
      .when({ event: { type: 'PostIncidentReviewDue', data: { hotfixId: 'hf-1', incidentId: 'INC-42', dueAt: '2026-11-27T04:10:00.000Z' } } })
      .then([{ kind: 'schedule', timerId: 'hotfix-hf-1:review', at: new Date('2026-11-27T04:10:00.001Z'), target: 'hotfix', streamId: 'hotfix-hf-1', command: check }]);
    hotfix
      .given([])
      .when({ event: { type: 'PostIncidentReviewCompleted', data: { hotfixId: 'hf-1', reviewRef: 'PIR-1', completedBy: 'kim', completedAt: '2026-11-27T01:00:00.000Z', late: false } } })
      .then([{ kind: 'cancel', timerId: 'hotfix-hf-1:review', reason: 'the review is recorded' }]);
  });
});

const plan = WorkflowSpecification.for(releasePlanDeadlinesWorkflow);
const added: ReleasePlanEvent = {
  type: 'ReleasePrerequisiteAdded',
  data: { releaseId: 'rel-1', prerequisiteId: 'p-1', type: 'database', description: 'runbook', owner: 'kim', deadline: '2026-12-01T10:00:00.000Z', addedBy: 'lee', addedAt: '2026-11-30T10:00:00.000Z' },
};
const statusChanged = (status: 'pending' | 'completed'): ReleasePlanEvent => ({
  type: 'ReleasePrerequisiteStatusChanged',
  data: { releaseId: 'rel-1', prerequisiteId: 'p-1', owner: 'kim', from: status === 'completed' ? 'pending' : 'completed', status, note: null, changedBy: 'kim', changedAt: '2026-11-30T12:00:00.000Z' },
});
const overdueTimer: ReleasePlanDeadlineOutput = {
  kind: 'schedule',
  timerId: 'releasePlan-rel-1:overdue:p-1',
  at: new Date('2026-12-01T10:00:00.000Z'),
  target: 'releasePlan',
  streamId: 'releasePlan-rel-1',
  command: { type: 'MarkPrerequisiteOverdue', data: { releaseId: 'rel-1', prerequisiteId: 'p-1' } },
};

describe('Release plan deadlines workflow', () => {
  it('arms a prerequisite at its deadline when it is added', () => plan.given([]).when({ event: added, deadline: null }).then([overdueTimer]));
  it('cancels it when the prerequisite leaves pending', () =>
    plan.given([]).when({ event: statusChanged('completed'), deadline: '2026-12-01T10:00:00.000Z' }).then([{ kind: 'cancel', timerId: 'releasePlan-rel-1:overdue:p-1', reason: 'prerequisite is completed' }]));
  it('arms it again, at the deadline from its stream, when it is set back to pending', () => plan.given([]).when({ event: statusChanged('pending'), deadline: '2026-12-01T10:00:00.000Z' }).then([overdueTimer]));
});

const timer = DeciderSpecification.for(workflowTimerDecider);
const now = new Date('2026-12-01T09:00:00.000Z');
const arm: WorkflowTimerCommand = { type: 'ArmTimer', data: { timerId: 't-1', owner: 'change-requests', at: new Date('2026-12-01T10:00:00.000Z'), target: 'releasePlan', streamId: 'releasePlan-rel-1', command: { type: 'X' }, now } };
const armed = (generation: number): WorkflowTimerEvent => ({
  type: 'TimerArmed',
  data: { timerId: 't-1', generation, owner: 'change-requests', at: '2026-12-01T10:00:00.000Z', target: 'releasePlan', streamId: 'releasePlan-rel-1', command: { type: 'X' }, armedAt: '2026-12-01T09:00:00.000Z' },
});
const fired: WorkflowTimerEvent = { type: 'TimerFired', data: { timerId: 't-1', generation: 1, at: '2026-12-01T10:00:00.000Z', firedAt: '2026-12-01T10:00:01.000Z', outcome: 'sent' } };
const cancelled: WorkflowTimerEvent = { type: 'TimerCancelled', data: { timerId: 't-1', generation: 1, reason: 'done', cancelledAt: '2026-12-01T09:30:00.000Z' } };

const validation = WorkflowSpecification.for(validationTimeoutWorkflow);
const checks: PostDeploymentValidation = {
  checks: [
    { name: 'smoke', required: true },
    { name: 'integration', required: true },
  ],
  timeoutMinutes: 90,
  onTimeout: 'fail',
};
const implemented = { type: 'ChangeImplemented', data: { changeRequestId: 'cr-1', implementer: 'deployments', completedAt: '2026-12-07T09:30:00.000Z' } } as const;
const timeoutTimer = 'changeRequest-cr-1:validation-timeout';

describe('Post-deployment validation timeout workflow (a timer as output)', () => {
  it('arms the timeout when the change begins validating, firing timeoutMinutes after its deployment succeeded with the policy it began under', () =>
    validation
      .given([])
      .when({ event: implemented, policy: { environment: 'staging', validation: checks } })
      .then([
        {
          kind: 'schedule',
          timerId: timeoutTimer,
          at: new Date('2026-12-07T11:00:00.000Z'),
          target: 'changeRequest',
          streamId: 'changeRequest-cr-1',
          command: { type: 'TimeOutPostDeploymentValidation', data: { changeRequestId: 'cr-1', environment: 'staging', validation: checks, closedBy: 'change-requests' } },
        },
      ]));

  it('arms nothing where the environment asks for no post-deployment checks (the watch alone validates)', () =>
    validation
      .given([])
      .when({ event: implemented, policy: { environment: 'development', validation: undefined } })
      .then([{ kind: 'ignore', reason: 'development asks for no post-deployment checks' }]));

  it.each([
    ['validated', { type: 'ChangeValidated', data: { changeRequestId: 'cr-1', validator: 'change-requests', outcome: 'passed', notes: 'smoke passed', validatedAt: '2026-12-07T09:50:00.000Z' } }, 'validation passed'],
    ['failed', { type: 'ChangeValidated', data: { changeRequestId: 'cr-1', validator: 'change-requests', outcome: 'failed', notes: 'smoke failed', validatedAt: '2026-12-07T09:50:00.000Z' } }, 'validation failed'],
    ['rolled back', { type: 'ChangeRolledBack', data: { changeRequestId: 'cr-1', requestedBy: 'ops', reason: 'errors', rolledBackAt: '2026-12-07T09:40:00.000Z' } }, 'the change was rolled back'],
    ['closed', { type: 'ChangeClosed', data: { changeRequestId: 'cr-1', closedBy: 'change-requests', outcome: 'rolled_back', postImplementationReviewRef: null, closedAt: '2026-12-07T09:45:00.000Z' } }, 'the change was closed'],
    ['timed out', { type: 'PostDeploymentValidationTimedOut', data: { changeRequestId: 'cr-1', missing: ['integration'], onTimeout: 'warn', timedOutAt: '2026-12-07T11:00:00.000Z' } }, 'the timeout is recorded'],
  ] satisfies [string, ValidationTimeoutEvent, string][])('cancels the timeout when the change is %s', (_, event, reason) => validation.given([]).when({ event, policy: null }).then([{ kind: 'cancel', timerId: timeoutTimer, reason }]));
});

describe('Timer decider', () => {
  it('arms a timer once: arming it again while armed records nothing', () => {
    timer.given([]).when(arm).then([armed(1)]);
    timer.given([armed(1)]).when(arm).then([]);
  });
  it('records the firing of the armed generation only', () => {
    timer.given([armed(1)]).when({ type: 'RecordTimerFired', data: { timerId: 't-1', generation: 1, outcome: 'sent', now: new Date('2026-12-01T10:00:01.000Z') } }).then([fired]);
    timer.given([armed(1), fired]).when({ type: 'RecordTimerFired', data: { timerId: 't-1', generation: 1, outcome: 'sent', now: new Date('2026-12-01T10:00:02.000Z') } }).then([]);
    timer.given([armed(1), cancelled]).when({ type: 'RecordTimerFired', data: { timerId: 't-1', generation: 1, outcome: 'sent', now: new Date('2026-12-01T10:00:02.000Z') } }).then([]);
  });
  it('cancels an armed timer; a cancel of one that is not armed records nothing', () => {
    timer.given([armed(1)]).when({ type: 'CancelTimer', data: { timerId: 't-1', reason: 'done', now: new Date('2026-12-01T09:30:00.000Z') } }).then([cancelled]);
    timer.given([]).when({ type: 'CancelTimer', data: { timerId: 't-1', reason: 'done', now } }).then([]);
    timer.given([armed(1), fired]).when({ type: 'CancelTimer', data: { timerId: 't-1', reason: 'done', now } }).then([]);
  });
  it('arms a new generation after a cancel (the fact became pending again)', () => timer.given([armed(1), cancelled]).when(arm).then([armed(2)]));
});
