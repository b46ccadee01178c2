import { DeciderSpecification } from '@gatehouse/testing';
import { AlreadyExistsError, ValidationError } from '../errors.js';
import { checkReleasePlan, PrerequisitesOpenError, releasePlanDecider, ReleasePlanRoleRequiredError, type ReleasePlanEvent } from './releasePlan.js';

const spec = DeciderSpecification.for(releasePlanDecider);
const NOW = new Date('2026-11-30T09:00:00Z');
const input = { prerequisiteId: 'exports-index', type: 'database', description: 'Index on ledger_entries', owner: 'dora', deadline: '2026-11-30T11:00:00Z' };
const added: ReleasePlanEvent = {
  type: 'ReleasePrerequisiteAdded',
  data: { releaseId: 'r1', prerequisiteId: 'exports-index', type: 'database', description: 'Index on ledger_entries', owner: 'dora', deadline: '2026-11-30T11:00:00.000Z', addedBy: 'tess', addedAt: NOW.toISOString() },
};
const add = (by: string, byRoles: string[], prerequisite: unknown = input) => ({ type: 'AddPrerequisite' as const, data: { releaseId: 'r1', prerequisite, by, byRoles, now: NOW } });
const setStatus = (by: string, byRoles: string[], change: unknown) => ({ type: 'SetPrerequisiteStatus' as const, data: { releaseId: 'r1', prerequisiteId: 'exports-index', change, by, byRoles, now: NOW } });
const overdueAt = (at: string) => ({ type: 'MarkPrerequisiteOverdue' as const, data: { releaseId: 'r1', prerequisiteId: 'exports-index', now: new Date(at) } });

describe('release plan', () => {
  it('adds a prerequisite by a planner, pending, with owner and deadline; refuses others, duplicates and bad fields', () => {
    spec.given([]).when(add('tess', ['tech_lead'])).then([added]);
    spec.given([]).when(add('ana', ['developer'])).thenThrows(ReleasePlanRoleRequiredError);
    spec.given([added]).when(add('tess', ['tech_lead'])).thenThrows(AlreadyExistsError);
    spec.given([]).when(add('tess', ['tech_lead'], { ...input, type: 'magic', deadline: 'soon' })).thenThrows(ValidationError, (e) => e.issues.map((i) => i.field).sort().join() === 'deadline,type');
  });

  it('lets the owner or a planner set its status; open ones (pending, failed) stop approval and start with the owner named', () => {
    spec.given([added]).when(setStatus('ana', ['developer'], { status: 'completed' })).thenThrows(ReleasePlanRoleRequiredError);
    spec.given([added]).when(setStatus('dora', ['dba'], { status: 'failed', note: 'lock timeout' })).thenEvents(([event], state) => {
      expect(event).toMatchObject({ type: 'ReleasePrerequisiteStatusChanged', data: { from: 'pending', status: 'failed', owner: 'dora', note: 'lock timeout' } });
      const refusal = checkReleasePlan('r1', state.prerequisites, 'approving change c1');
      expect(refusal).toBeInstanceOf(PrerequisitesOpenError);
      expect(refusal?.message).toContain("database prerequisite 'exports-index' (Index on ledger_entries) is failed, owner dora");
    });
    spec.given([added]).when(setStatus('dora', ['dba'], { status: 'completed' })).thenEvents((_, state) => expect(checkReleasePlan('r1', state.prerequisites, 'x')).toBeNull());
    spec.given([added]).when(setStatus('dora', ['dba'], { status: 'pending' })).thenNothingHappened();
  });

  it('marks a pending prerequisite overdue once its deadline passed, and only once', () => {
    spec.given([added]).when(overdueAt('2026-11-30T10:59:59Z')).thenNothingHappened();
    spec.given([added]).when(overdueAt('2026-11-30T11:00:00Z')).thenEvents(([event]) => expect(event).toMatchObject({ type: 'ReleasePrerequisiteOverdue', data: { owner: 'dora', deadline: '2026-11-30T11:00:00.000Z' } }));
    const overdue: ReleasePlanEvent = { type: 'ReleasePrerequisiteOverdue', data: { releaseId: 'r1', prerequisiteId: 'exports-index', owner: 'dora', deadline: '2026-11-30T11:00:00.000Z', detectedAt: '2026-11-30T11:00:00.000Z' } };
    spec.given([added, overdue]).when(overdueAt('2026-11-30T12:00:00Z')).thenNothingHappened();
  });
});
