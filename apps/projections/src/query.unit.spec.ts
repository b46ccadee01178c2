import type { StoredEvent } from '@gatehouse/eventstore';
import fc from 'fast-check';
import { evolveReadModel, initialReadModel, queryReadModel, type ChangeRequestView } from './index.js';

/**
 * The changeRequests query against a reference kept by the test itself: every submitted change, newest
 * `updatedAt` first (the later update first on a tie), filtered on the view's own fields, cut at `limit`.
 * Checked after every event, so the indexes and the newest-first list are checked as they are maintained.
 */
const CHANGES = Array.from({ length: 12 }, (_, i) => `cr-${i}`);
const RELEASES = ['rel-0', 'rel-1', 'rel-2'];
const SERVICES = ['checkout', 'search', 'billing'];
const ENVIRONMENTS = ['staging', 'production'];
const KINDS = ['standard', 'normal', 'emergency'];
const PROGRESS = { ChangeReviewStarted: 'in_review', ChangeReviewCompleted: 'awaiting_approval', ChangeRequestRejected: 'rejected', ChangeClosed: 'closed', ChangeCancelled: 'cancelled' } as const;
const START = Date.parse('2026-11-24T09:00:00.000Z');

type Step =
  | { op: 'submit'; change: string; kind: string; environments: string[]; releaseId: string | null }
  | { op: 'progress'; change: string; type: keyof typeof PROGRESS }
  | { op: 'plan'; releaseId: string; service: string }
  | { op: 'book'; change: string; service: string }
  | { op: 'cancel'; change: string };

const change = fc.constantFrom(...CHANGES);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('submit' as const), change, kind: fc.constantFrom(...KINDS), environments: fc.subarray(ENVIRONMENTS, { minLength: 1 }), releaseId: fc.option(fc.constantFrom(...RELEASES)) }),
  fc.record({ op: fc.constant('progress' as const), change, type: fc.constantFrom(...(Object.keys(PROGRESS) as Array<keyof typeof PROGRESS>)) }),
  fc.record({ op: fc.constant('plan' as const), releaseId: fc.constantFrom(...RELEASES), service: fc.constantFrom(...SERVICES) }),
  fc.record({ op: fc.constant('book' as const), change, service: fc.constantFrom(...SERVICES) }),
  fc.record({ op: fc.constant('cancel' as const), change }),
);
// Ties within a millisecond and a clock that sometimes steps back, as recordedAt does across writers.
const tick = fc.constantFrom(0, 0, 1, 1_000, -1_500);
const filter = fc.record(
  { status: fc.constantFrom('submitted', 'in_review', 'awaiting_approval', 'closed', 'cancelled'), environment: fc.constantFrom(...ENVIRONMENTS), service: fc.constantFrom(...SERVICES), kind: fc.constantFrom(...KINDS), limit: fc.integer({ min: 1, max: 3 }) },
  { requiredKeys: [] },
);

interface Expected {
  submitted: boolean;
  status: string;
  kind: string;
  environments: string[];
  releaseId: string | null;
  updatedAt: number;
  lastUpdate: number;
}

describe('changeRequests query', () => {
  it('answers as a filter, sort and cut of every submitted change would, after every event', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(step, tick), { minLength: 1, maxLength: 80 }), fc.array(filter, { minLength: 1, maxLength: 4 }), (steps, filters) => {
        const model = initialReadModel();
        const changes = new Map<string, Expected>();
        const releases = new Map<string, string>();
        const booked = new Map<string, string>();
        let now = START;
        steps.forEach(([s, dt], index) => {
          now += dt;
          const position = BigInt(index + 1);
          const event = (streamId: string, type: string, data: Record<string, unknown>): StoredEvent => ({ id: `e${position}`, type, streamId, streamVersion: 1n, globalPosition: position, recordedAt: new Date(now), data, metadata: {}, hash: '', previousHash: '' });
          const touch = (id: string, update: Partial<Expected>) => {
            const known = changes.get(id) ?? { submitted: false, status: 'not_submitted', kind: '', environments: [], releaseId: null, updatedAt: 0, lastUpdate: 0 };
            changes.set(id, { ...known, ...update, updatedAt: now, lastUpdate: index });
          };
          switch (s.op) {
            case 'submit': {
              const draft = { title: `change ${s.change}`, environments: s.environments, ...(s.releaseId === null ? {} : { releaseId: s.releaseId }) };
              evolveReadModel(model, event(`changeRequest-${s.change}`, 'ChangeRequestSubmitted', { changeRequestId: s.change, kind: s.kind, draft, riskAssessment: { level: 'low', score: 10 }, submittedAt: new Date(now).toISOString() }));
              touch(s.change, { submitted: true, status: s.kind === 'emergency' ? 'awaiting_approval' : 'submitted', kind: s.kind, environments: s.environments, releaseId: s.releaseId });
              break;
            }
            case 'progress': {
              evolveReadModel(model, event(`changeRequest-${s.change}`, s.type, { changeRequestId: s.change }));
              const known = changes.get(s.change);
              touch(s.change, known?.submitted === true ? { status: PROGRESS[s.type] } : {});
              break;
            }
            case 'plan':
              evolveReadModel(model, event(`release-${s.releaseId}`, 'ReleasePlanned', { releaseId: s.releaseId, service: s.service, version: '1.0.0' }));
              releases.set(s.releaseId, s.service);
              break;
            case 'book':
              evolveReadModel(model, event(`schedule-${s.change}`, 'DeploymentScheduled', { changeRequestId: s.change, service: s.service, version: '1.0.0', environment: 'production', scheduledFor: '2026-12-01T10:00:00.000Z' }));
              booked.set(s.change, s.service);
              break;
            case 'cancel':
              evolveReadModel(model, event(`schedule-${s.change}`, 'BookingCancelled', { changeRequestId: s.change, environment: 'production', scheduledFor: '2026-12-01T10:00:00.000Z', reason: 'withdrawn', cancelledAt: new Date(now).toISOString() }));
              break;
          }

          const everything = [...changes.entries()]
            .filter(([, c]) => c.submitted)
            .sort(([, a], [, b]) => b.updatedAt - a.updatedAt || b.lastUpdate - a.lastUpdate)
            .map(([id, c]) => ({ changeRequestId: id, status: c.status, kind: c.kind, environments: c.environments, service: (c.releaseId === null ? undefined : releases.get(c.releaseId)) ?? booked.get(id) ?? null, updatedAt: new Date(c.updatedAt).toISOString() }));
          for (const f of [{}, ...filters]) {
            const expected = everything
              .filter((c) => (f.status === undefined || c.status === f.status) && (f.environment === undefined || c.environments.includes(f.environment)) && (f.service === undefined || c.service === f.service) && (f.kind === undefined || c.kind === f.kind))
              .slice(0, f.limit);
            const answer = queryReadModel(model, { view: 'changeRequests', filter: f }).items as ChangeRequestView[];
            expect(answer.map(({ changeRequestId, status, kind, environments, service, updatedAt }) => ({ changeRequestId, status, kind, environments, service, updatedAt }))).toEqual(expected);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('selects the newest of a filter whose matches are all older than a walk of its size', () => {
    const model = initialReadModel();
    let position = 0n;
    const at = (minute: number, streamId: string, type: string, data: Record<string, unknown>) =>
      evolveReadModel(model, { id: `e${++position}`, type, streamId, streamVersion: 1n, globalPosition: position, recordedAt: new Date(START + minute * 60_000), data, metadata: {}, hash: '', previousHash: '' });
    const submit = (minute: number, id: string, releaseId: string) =>
      at(minute, `changeRequest-${id}`, 'ChangeRequestSubmitted', { changeRequestId: id, kind: 'normal', draft: { title: id, environments: ['production'], releaseId }, riskAssessment: { level: 'low', score: 10 } });
    at(0, 'release-rel-b', 'ReleasePlanned', { releaseId: 'rel-b', service: 'billing', version: '1.0.0' });
    at(0, 'release-rel-c', 'ReleasePlanned', { releaseId: 'rel-c', service: 'checkout', version: '1.0.0' });
    // Eight billing changes filed in the order b0..b7 and updated last in another order, then nine newer checkout changes.
    const billing = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'];
    const updated = ['b5', 'b2', 'b7', 'b0', 'b3', 'b6', 'b1', 'b4'];
    billing.forEach((id, minute) => submit(minute, id, 'rel-b'));
    updated.forEach((id, i) => at(10 + i, `changeRequest-${id}`, 'ChangeReviewStarted', { changeRequestId: id }));
    ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'].forEach((id, i) => submit(20 + i, id, 'rel-c'));

    const ids = (filter: Record<string, unknown>) => (queryReadModel(model, { view: 'changeRequests', filter }).items as ChangeRequestView[]).map((c) => c.changeRequestId);
    const newestFirst = [...updated].reverse();
    for (const limit of [1, 3, 5, 7]) expect(ids({ service: 'billing', limit })).toEqual(newestFirst.slice(0, limit));
    expect(ids({ service: 'billing' })).toEqual(newestFirst);
    expect(ids({ service: 'checkout', status: 'submitted', limit: 2 })).toEqual(['c8', 'c7']);
  });
});
