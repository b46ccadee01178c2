import type { StoredEvent } from '@gatehouse/eventstore';
import { evolveReadModel, initialReadModel, queryReadModel, type ReadModel, type ReadModelQuery } from './index.js';

const CR = 'cr-9';
const AT = Date.parse('2026-11-24T09:00:00.000Z');

/** Folds `[streamId, type, data]` triples in order, one second apart. */
function fold(model: ReadModel, events: ReadonlyArray<readonly [string, string, Record<string, unknown>]>): ReadModel {
  for (const [streamId, type, data] of events) {
    const position = model.position + 1n;
    const event: StoredEvent = { id: `e${position}`, type, streamId, streamVersion: position, globalPosition: position, recordedAt: new Date(AT + Number(position) * 1_000), data, metadata: { actor: 'test' }, hash: '', previousHash: '' };
    evolveReadModel(model, event);
  }
  return model;
}
const items = <T>(model: ReadModel, query: ReadModelQuery) => queryReadModel(model, query).items as T[];

const submitted = (changeRequestId: string, releaseId?: string) =>
  [
    `changeRequest-${changeRequestId}`,
    'ChangeRequestSubmitted',
    { changeRequestId, kind: 'normal', draft: { title: 'Checkout 2.4.0', environments: ['production'], ...(releaseId === undefined ? {} : { releaseId }) }, riskAssessment: { level: 'medium', score: 40 }, submittedAt: '2026-11-24T09:00:00Z' },
  ] as const;
const booking = { changeRequestId: CR, releaseId: 'rel-9', service: 'checkout', version: '2.4.0', environment: 'production', changeType: 'normal', strategy: 'canary', scheduledFor: '2026-12-01T10:00:00.000Z', windowId: 'tue-thu-morning', policyVersion: 'sha256:test' };
const scheduled = ['schedule-' + CR, 'DeploymentScheduled', booking] as const;
const cancelled = ['schedule-' + CR, 'BookingCancelled', { changeRequestId: CR, environment: 'production', scheduledFor: booking.scheduledFor, reason: 'approval withdrawn', cancelledAt: '2026-11-25T09:00:00.000Z' }] as const;

describe('schedule view', () => {
  it('drops a cancelled booking and shows it again when the change is booked again', () => {
    const model = fold(initialReadModel(), [submitted(CR), scheduled]);
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([expect.objectContaining({ changeRequestId: CR, status: 'booked' })]);

    fold(model, [cancelled]);
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([]);
    // The change still ships the build it was booked with.
    expect(items(model, { view: 'changeRequests', filter: { service: 'checkout' } })).toEqual([expect.objectContaining({ changeRequestId: CR, service: 'checkout', version: '2.4.0' })]);

    fold(model, [['schedule-' + CR, 'DeploymentScheduled', { ...booking, scheduledFor: '2026-12-02T10:00:00.000Z' }]]);
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([expect.objectContaining({ changeRequestId: CR, scheduledFor: '2026-12-02T10:00:00.000Z', status: 'booked' })]);
  });

  it('drops a booking that a later refusal withdrew, and keeps one whose deployment is under way', () => {
    const model = fold(initialReadModel(), [scheduled, ['schedule-' + CR, 'SchedulingRefused', { changeRequestId: CR, environment: 'production', reasons: ['blackout'] }]]);
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([]);

    fold(model, [scheduled, ['schedule-' + CR, 'DeploymentDue', { ...booking, dueAt: booking.scheduledFor }], cancelled]);
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([expect.objectContaining({ changeRequestId: CR, status: 'due' })]);
  });
});

describe('change requests view', () => {
  it('files a change under its service once its release is planned, whichever comes first', () => {
    const model = fold(initialReadModel(), [submitted('cr-1', 'rel-1')]);
    expect(items(model, { view: 'changeRequests', filter: { service: 'checkout' } })).toEqual([]);
    expect(items(model, { view: 'changeRequests', filter: {} })).toEqual([expect.objectContaining({ changeRequestId: 'cr-1', service: null, version: null })]);

    fold(model, [['release-rel-1', 'ReleasePlanned', { releaseId: 'rel-1', service: 'checkout', version: '2.4.0' }], submitted('cr-2', 'rel-1')]);
    expect(items(model, { view: 'changeRequests', filter: { service: 'checkout' } }).map((c) => [(c as { changeRequestId: string }).changeRequestId, (c as { version: string }).version])).toEqual([
      ['cr-2', '2.4.0'],
      ['cr-1', '2.4.0'],
    ]);
  });

  it('lists the change updated last first when changes were updated in the same millisecond', () => {
    const model = initialReadModel();
    const at = new Date(AT);
    const event = (position: bigint, [streamId, type, data]: readonly [string, string, Record<string, unknown>]): StoredEvent => ({ id: `e${position}`, type, streamId, streamVersion: 1n, globalPosition: position, recordedAt: at, data, metadata: {}, hash: '', previousHash: '' });
    evolveReadModel(model, event(1n, submitted('cr-1')));
    evolveReadModel(model, event(2n, submitted('cr-2')));
    evolveReadModel(model, event(3n, ['changeRequest-cr-1', 'ChangeReviewStarted', { changeRequestId: 'cr-1', reviewer: 'bob' }]));
    expect(items<{ changeRequestId: string }>(model, { view: 'changeRequests', filter: { limit: 1 } }).map((c) => c.changeRequestId)).toEqual(['cr-1']);
    expect(items<{ changeRequestId: string }>(model, { view: 'changeRequests', filter: { environment: 'production', limit: 2 } }).map((c) => c.changeRequestId)).toEqual(['cr-1', 'cr-2']);
  });
});

describe('evolveReadModel', () => {
  it('folds every event in the order it is given, also when global positions go backwards (commit order of interleaved appends)', () => {
    const model = initialReadModel();
    const at = new Date(AT);
    const event = (position: bigint, [streamId, type, data]: readonly [string, string, Record<string, unknown>]): StoredEvent => ({ id: `e${position}`, type, streamId, streamVersion: 1n, globalPosition: position, recordedAt: at, data, metadata: {}, hash: '', previousHash: '' });
    // Two concurrent multi-event appends: the first transaction holds positions 10 and 12, the second 11 and 13.
    evolveReadModel(model, event(10n, submitted('cr-a')));
    evolveReadModel(model, event(12n, submitted('cr-b')));
    evolveReadModel(model, event(11n, submitted('cr-c')));
    expect(model.position).toBe(11n);
    expect(items<{ changeRequestId: string }>(model, { view: 'changeRequests', filter: {} }).map((c) => c.changeRequestId).sort()).toEqual(['cr-a', 'cr-b', 'cr-c']);
  });

  it('updates the model in place and writes nothing of an event it cannot fold', () => {
    const model = initialReadModel();
    expect(fold(model, [submitted(CR)])).toBe(model);
    const malformed: StoredEvent = { id: 'bad', type: 'ChangeRequestSubmitted', streamId: 'changeRequest-cr-bad', streamVersion: 1n, globalPosition: 2n, recordedAt: new Date(AT), data: { changeRequestId: 'cr-bad', kind: 'normal' }, metadata: {}, hash: '', previousHash: '' };

    expect(() => evolveReadModel(model, malformed)).toThrow(TypeError);
    expect(model.position).toBe(1n);
    expect(model.changeRequests.get('cr-bad')).toBeUndefined();
    expect(items(model, { view: 'changeRequests', filter: {} })).toEqual([expect.objectContaining({ changeRequestId: CR })]);
  });

  it('never changes an answer already given: views are replaced, not changed', () => {
    const model = fold(initialReadModel(), [submitted(CR), scheduled]);
    const [booked] = items(model, { view: 'schedule', filter: {} });
    fold(model, [['schedule-' + CR, 'DeploymentDue', { ...booking, dueAt: booking.scheduledFor }]]);
    expect(booked).toMatchObject({ status: 'booked' });
    expect(items(model, { view: 'schedule', filter: {} })).toEqual([expect.objectContaining({ status: 'due' })]);
  });
});

describe('versions view after a rollback', () => {
  const ids = (changeRequestId: string, version: string) => ({ deploymentId: `dep-${changeRequestId}`, changeRequestId, releaseId: `rel-${version}`, service: 'ledger', version, environment: 'staging' });
  const succeeded = (changeRequestId: string, version: string) => [`deployment-${changeRequestId}`, 'DeploymentSucceeded', { ...ids(changeRequestId, version), completedAt: '2026-11-30T15:00:00.000Z' }] as const;
  const rolledBack = (changeRequestId: string, version: string, extra: object = {}) =>
    [`deployment-${changeRequestId}`, 'DeploymentRolledBack', { ...ids(changeRequestId, version), reason: 'drift', initiator: 'manual', actor: 'sam', basis: 'incident_review', incidentReviewRef: 'IR-1', at: '2026-11-30T18:00:00.000Z', ...extra }] as const;
  const staging = (model: ReadModel) => items<{ version: string }>(model, { view: 'versions', filter: { service: 'ledger', environment: 'staging' } });

  it('goes back to the version that ran before, however long after the deployment the rollback came', () => {
    const model = fold(initialReadModel(), [succeeded('cr-a', '4.0.0'), succeeded('cr-b', '4.1.0'), rolledBack('cr-b', '4.1.0')]);
    expect(staging(model)).toEqual([expect.objectContaining({ version: '4.0.0', previous: [] })]);
  });

  it('shows nothing running once the first version an environment ran is rolled back', () => {
    const model = fold(initialReadModel(), [succeeded('cr-a', '4.0.0'), rolledBack('cr-a', '4.0.0')]);
    expect(staging(model)).toEqual([]);
  });
});

describe('active deployments view when a step is refused for good', () => {
  const ids = { deploymentId: 'dep-f', changeRequestId: 'cr-f', releaseId: 'rel-f', service: 'campaign-api', version: '2.1.0', environment: 'development' };
  const stream = 'deployment-cr-f';
  const steps = [{ index: 0, name: 'flag 10%', trafficPercent: 10, durationMinutes: 10, analysis: false }];
  const active = (model: ReadModel) => items<{ changeRequestId: string; currentStep: number }>(model, { view: 'activeDeployments', filter: {} });

  it('keeps the deployment on its step while the previous version is restored, and drops it once it failed', () => {
    const model = fold(initialReadModel(), [
      [stream, 'DeploymentStarted', { ...ids, strategy: 'feature-flag', steps, previousVersion: '2.0.3', startedAt: '2026-12-01T10:00:00.000Z' }],
      [stream, 'DeploymentStepStarted', { deploymentId: 'dep-f', changeRequestId: 'cr-f', index: 0, name: 'flag 10%', trafficPercent: 10, at: '2026-12-01T10:00:00.000Z', analysisUntil: '2026-12-01T10:10:00.000Z', effectId: 'dep-f:step-0:apply' }],
      [stream, 'DeploymentEffectFailed', { deploymentId: 'dep-f', changeRequestId: 'cr-f', effectId: 'dep-f:step-0:apply', effect: 'ApplyDeploymentStep', index: 0, reason: 'no feature flag is bound to service campaign-api', attempt: 1, at: '2026-12-01T10:00:01.000Z' }],
    ]);
    expect(active(model)).toEqual([expect.objectContaining({ changeRequestId: 'cr-f', currentStep: 1 })]);
    fold(model, [[stream, 'DeploymentFailed', { ...ids, reason: 'step 0 (flag 10%) failed: ApplyDeploymentStep was refused: no feature flag is bound to service campaign-api', at: '2026-12-01T10:00:02.000Z' }]]);
    expect(active(model)).toEqual([]);
  });
});
