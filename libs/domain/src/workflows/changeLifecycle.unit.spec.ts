import { WorkflowSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, NotFoundError } from '../errors.js';
import { type ChangeRequestDraft, type ChangeRequestEvent } from '../change-request/changeRequest.js';
import { type ReleaseEvent } from '../release/release.js';
import { type ChangeLifecycleEvent, type ChangeLifecycleInput, changeLifecycleWorkflow, classifyChangeLifecycleRefusal } from './changeLifecycle.js';

const spec = WorkflowSpecification.for(changeLifecycleWorkflow);
const POLICY = { policyVersion: 'sha256:v1', environment: { promotesFrom: undefined, rollback: { beyondWindow: 'allowed' as const } } };
const input = (eventId: string, event: ChangeLifecycleEvent): ChangeLifecycleInput => ({ eventId, event, policy: POLICY });

const draft: ChangeRequestDraft = {
  title: 'Campaign time zones',
  description: 'Schedules campaigns in the recipient time zone',
  type: 'enhancement',
  priority: 'medium',
  impact: 'low',
  risk: 'low',
  likelihood: 'low',
  size: 'small',
  environments: ['development'],
  schedule: { planned: '2026-11-30T09:00:00Z', duration: 60, maintenance: false },
  implementationPlan: 'roll out',
  rollbackPlan: 'roll back',
  testingPlan: 'unit tests',
  releaseId: 'rel-1',
  includesMigration: false,
  author: 'ana',
};
const riskAssessment = { score: 2, level: 'low', factors: [] } as never;

const change = {
  submitted: { type: 'ChangeRequestSubmitted', data: { changeRequestId: 'cr-1', kind: 'normal', draft, riskAssessment, submittedAt: '2026-11-30T09:00:00.000Z' } },
  reviewStarted: { type: 'ChangeReviewStarted', data: { changeRequestId: 'cr-1', reviewer: 'rui', startedAt: '2026-11-30T09:01:00.000Z' } },
  reviewCompleted: { type: 'ChangeReviewCompleted', data: { changeRequestId: 'cr-1', reviewer: 'rui', notes: 'ok', completedAt: '2026-11-30T09:02:00.000Z' } },
  approved: { type: 'ChangeRequestApproved', data: { changeRequestId: 'cr-1', approvalId: 'cr-1', approvedAt: '2026-11-30T09:03:00.000Z' } },
  scheduled: { type: 'ChangeScheduled', data: { changeRequestId: 'cr-1', windowStart: '2026-11-30T09:03:00.100Z', windowEnd: '2026-11-30T10:03:00.100Z', scheduledBy: 'scheduling', scheduledAt: '2026-11-30T09:03:00.200Z' } },
  started: { type: 'ChangeImplementationStarted', data: { changeRequestId: 'cr-1', implementer: 'deployments', startedAt: '2026-11-30T09:03:01.000Z' } },
  implemented: { type: 'ChangeImplemented', data: { changeRequestId: 'cr-1', implementer: 'deployments', completedAt: '2026-11-30T09:08:01.000Z' } },
} satisfies Record<string, ChangeRequestEvent>;
const approvedChange: ChangeRequestEvent[] = [change.submitted, change.reviewStarted, change.reviewCompleted, change.approved];

const release = {
  planned: {
    type: 'ReleasePlanned',
    data: { releaseId: 'rel-1', service: 'campaign-api', version: '2.2.0', releaseType: 'minor', title: 'Time zones', description: 'Time zones', changes: [], previousVersion: '2.1.0', plannedBy: 'ana', plannedAt: '2026-11-30T08:00:00.000Z' },
  },
  approved: { type: 'ReleaseApproved', data: { releaseId: 'rel-1', approvalId: 'cr-1', revision: 1, approvedAt: '2026-11-30T09:03:00.000Z' } },
} satisfies Record<string, ReleaseEvent>;

const scheduledEvent: ChangeLifecycleEvent = { type: 'DeploymentScheduled', data: { changeRequestId: 'cr-1', scheduledFor: '2026-11-30T09:03:00.100Z', bookedAt: '2026-11-30T09:03:00.100Z' } };
const startedEvent: ChangeLifecycleEvent = { type: 'DeploymentStarted', data: { changeRequestId: 'cr-1', deploymentId: 'dep-1', startedAt: '2026-11-30T09:03:01.000Z' } };

describe('Change lifecycle workflow', () => {
  it('records a booking with the time scheduling made it, so a slot booked "now" holds however late it is handled', () =>
    spec
      .given(approvedChange)
      .when(input('evt-booked', scheduledEvent))
      .then([
        {
          kind: 'send',
          target: 'change',
          streamId: 'changeRequest-cr-1',
          commandId: 'evt-booked:ScheduleChange',
          command: {
            type: 'ScheduleChange',
            data: {
              changeRequestId: 'cr-1',
              window: { start: '2026-11-30T09:03:00.100Z', end: '2026-11-30T10:03:00.100Z' },
              scheduledBy: 'scheduling',
              bookedAt: new Date('2026-11-30T09:03:00.100Z'),
              now: new Date('2026-11-30T09:03:00.100Z'),
            },
          },
        },
      ]));

  it('a deployment that started before its booking was recorded (redelivery after kill -9) waits for the booking', () =>
    spec
      .given(approvedChange)
      .when(input('evt-started', startedEvent))
      .thenOutputs((outputs) => expect(outputs).toEqual([{ kind: 'await', reason: expect.stringContaining('waiting until its booking is recorded before handling DeploymentStarted') }])));

  it('once the booking is recorded, the same start moves the change and its release, at the time the deployment started', () =>
    spec
      .given([...approvedChange, change.scheduled, release.planned, release.approved])
      .when({ ...input('evt-started', startedEvent), lane: { lane: 'normal' } })
      .then([
        { kind: 'send', target: 'change', streamId: 'changeRequest-cr-1', commandId: 'evt-started:StartChangeImplementation', command: { type: 'StartChangeImplementation', data: { changeRequestId: 'cr-1', implementer: 'deployments', now: new Date('2026-11-30T09:03:01.000Z') } } },
        {
          kind: 'send',
          target: 'release',
          streamId: 'release-rel-1',
          commandId: 'evt-started:StartReleaseDeployment',
          policyVersion: 'sha256:v1',
          command: {
            type: 'StartReleaseDeployment',
            data: { releaseId: 'rel-1', deploymentId: 'dep-1', environment: 'development', promotesFrom: undefined, lane: 'normal', startedBy: 'deployments', now: new Date('2026-11-30T09:03:01.000Z') },
          },
        },
      ]));

  it('the same event always yields the same command ids (redelivery is absorbed by the store)', () => {
    const given = [...approvedChange, change.scheduled, change.started, change.implemented];
    const completed: ChangeLifecycleEvent = { type: 'PostDeploymentWatchCompleted', data: { changeRequestId: 'cr-1', completedAt: '2026-11-30T09:08:02.000Z' } };
    spec.given(given).when(input('evt-watch', completed)).thenOutputs((outputs) => {
      expect(outputs.map((o) => (o.kind === 'send' ? o.commandId : o.kind))).toEqual(['evt-watch:CompletePostDeploymentWatch']);
    });
  });

  it('a watch that ended early waits until the rollback is recorded before closing the change', () =>
    spec
      .given([...approvedChange, change.scheduled, change.started])
      .when(input('evt-ended', { type: 'PostDeploymentWatchEnded', data: { changeRequestId: 'cr-1', reason: 'rolled_back', endedAt: '2026-11-30T09:05:00.000Z' } }))
      .thenOutputs((outputs) => expect(outputs).toEqual([expect.objectContaining({ kind: 'await' })])));

  it('a completed watch hands the change its validation, with the policy’s post-deployment checks (the change decides and closes)', () =>
    spec
      .given([
        ...approvedChange,
        change.scheduled,
        change.started,
        change.implemented,
        { type: 'PostImplementationReviewRecorded', data: { changeRequestId: 'cr-1', reviewRef: 'PIR-1', recordedBy: 'sam', recordedAt: '2026-11-30T10:00:00.000Z' } },
      ])
      .when(input('evt-watch', { type: 'PostDeploymentWatchCompleted', data: { changeRequestId: 'cr-1', completedAt: '2026-12-01T09:08:01.000Z' } }))
      .thenOutputs((outputs) =>
        expect(outputs.map((o) => (o.kind === 'send' ? (o.command as { type: string }).type : o.kind))).toEqual(['CompletePostDeploymentWatch']),
      ));

  it('a full approval records the change approval and approves the still planned release once', () =>
    spec
      .given([change.submitted, change.reviewStarted, change.reviewCompleted, release.planned])
      .when(input('evt-approved', { type: 'ChangeFullyApproved', data: { approvalId: 'cr-1', subject: { changeRequestId: 'cr-1', releaseId: 'rel-1', revision: 1 }, approvedAt: '2026-11-30T09:03:00.000Z' } }))
      .thenOutputs((outputs) => expect(outputs.map((o) => o.kind === 'send' && o.command.type)).toEqual(['RecordChangeApproval', 'ApproveRelease'])));

  it('ignores what concerns an unknown change, or a revocation before the change was fully approved, saying why', () => {
    spec.given([]).when(input('evt-x', scheduledEvent)).then([{ kind: 'ignore', reason: 'change request cr-1 is unknown' }]);
    spec
      .given(approvedChange)
      .when(input('evt-rev', { type: 'ApprovalRevoked', data: { approvalId: 'cr-1', role: 'code_reviewer', approver: 'rui', reason: 'oops', wasFullyApproved: false, revokedAt: '2026-11-30T09:04:00.000Z' } }))
      .then([{ kind: 'ignore', reason: 'the code_reviewer grant was revoked before the change was fully approved' }]);
  });

  it('classifies a refusal by delivery order ("not allowed while approved") as retryable, any other refusal as final', () => {
    expect(classifyChangeLifecycleRefusal(new IllegalTransitionError('change request', 'StartChangeImplementation', 'approved', ['scheduled']))).toBe('order');
    expect(classifyChangeLifecycleRefusal(new IllegalTransitionError('change request', 'StartChangeImplementation', 'implementing', ['scheduled']))).toBe('final');
    expect(classifyChangeLifecycleRefusal(new IllegalTransitionError('change request', 'ScheduleChange', 'cancelled', ['approved', 'scheduled']))).toBe('final');
    expect(classifyChangeLifecycleRefusal(new IllegalTransitionError('release', 'CompleteReleaseDeployment', 'approved', ['deploying']))).toBe('final');
    expect(classifyChangeLifecycleRefusal(new NotFoundError('change request', 'cr-1'))).toBe('final');
  });
});
