import { createInMemoryEventStore } from '@gatehouse/eventstore';
import { readChangeHistory } from './index.js';

describe('a change history read from the log', () => {
  it("holds every event of the change's streams in log order, none of another change's, metric samples summarised", async () => {
    const store = await createInMemoryEventStore();
    const as = (actor: string) => ({ actor });
    await store.appendToStream('changeRequest-cr-1', [{ type: 'ChangeRequestSubmitted', data: { changeRequestId: 'cr-1' }, metadata: as('alice') }]);
    await store.appendToStream('changeRequest-cr-10', [{ type: 'ChangeRequestSubmitted', data: { changeRequestId: 'cr-10' }, metadata: as('erin') }]);
    await store.appendToStream('approval-cr-1', [{ type: 'ApprovalsRequested', data: { approvalId: 'cr-1' }, metadata: as('carol') }]);
    await store.appendToStream('changeRequest-cr-1', [{ type: 'ChangeReviewStarted', data: {}, metadata: as('bob') }]);
    await store.appendToStream('release-rel-1', [{ type: 'ReleasePlanned', data: { releaseId: 'rel-1' }, metadata: as('alice') }]);
    await store.appendToStream('watch-cr-1', [{ type: 'MetricSamplesRecorded', data: { samples: [{ v: 1 }, { v: 2 }, { v: 3 }] }, metadata: as('monitoring') }]);
    await store.appendToStream('deployment-cr-1', [{ type: 'DeploymentFailed', data: { reason: 'step 0 refused' }, metadata: as('deployments') }]);

    const history = await readChangeHistory(store, 'cr-1');

    expect(history.map((h) => [h.streamId, h.type, h.actor])).toEqual([
      ['changeRequest-cr-1', 'ChangeRequestSubmitted', 'alice'],
      ['approval-cr-1', 'ApprovalsRequested', 'carol'],
      ['changeRequest-cr-1', 'ChangeReviewStarted', 'bob'],
      ['watch-cr-1', 'MetricSamplesRecorded', 'monitoring'],
      ['deployment-cr-1', 'DeploymentFailed', 'deployments'],
    ]);
    expect(history.map((h) => BigInt(h.position))).toEqual([...history.map((h) => BigInt(h.position))].sort((a, b) => (a < b ? -1 : 1)));
    expect(history[3]!.data).toEqual({ samples: 3 });
    expect(history[4]).toMatchObject({ reason: 'step 0 refused', data: { reason: 'step 0 refused' } });
    expect(await readChangeHistory(store, 'cr-404')).toEqual([]);
  });
});
