import { ReasonRequiredError } from '../errors.js';
import { decideManualRollback, RollbackForbiddenError, RollbackWindowExpiredError, type RequestManualRollback } from './manualRollback.js';

const staging = { manualWindowMinutes: 60, beyondWindow: 'incident_review' } as const;
const production = { manualWindowMinutes: 240, beyondWindow: 'incident_review' } as const;
// Deployed on the Friday before the 2026 Memorial Day weekend (US holiday).
const DEPLOYED = '2026-05-22T14:00:00.000Z';
const request = (now: string, policy: RequestManualRollback['data']['policy'], extra: Partial<RequestManualRollback['data']> = {}): RequestManualRollback => ({
  type: 'RequestManualRollback',
  data: { deploymentId: 'dep-1', environment: 'staging', deployedAt: DEPLOYED, requestedBy: 'qa-quinn', reason: 'broken login', policy, now: new Date(now), ...extra },
});

describe('manual rollback windows', () => {
  it('staging: allowed within 1 hour (inclusive)', () => {
    expect(decideManualRollback(request('2026-05-22T15:00:00Z', staging))[0].data).toMatchObject({ basis: 'within_window', minutesSinceDeployment: 60, windowMinutes: 60 });
  });

  it('staging: refused one minute later without an incident review', () => {
    expect(() => decideManualRollback(request('2026-05-22T15:01:00Z', staging))).toThrow(RollbackWindowExpiredError);
  });

  it('production: 4 hours, beyond that only with an incident review reference', () => {
    expect(decideManualRollback(request('2026-05-22T18:00:00Z', production, { environment: 'production' }))[0].data.basis).toBe('within_window');
    try {
      decideManualRollback(request('2026-05-23T09:00:00Z', production, { environment: 'production' }));
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(RollbackWindowExpiredError);
      expect(error).toMatchObject({ code: 'ROLLBACK_WINDOW_EXPIRED', environment: 'production', windowMinutes: 240, minutesSinceDeployment: 1140 });
    }
    expect(decideManualRollback(request('2026-05-23T09:00:00Z', production, { environment: 'production', incidentReviewRef: 'IR-12' }))[0].data).toMatchObject({
      basis: 'incident_review',
      incidentReviewRef: 'IR-12',
    });
  });

  it('a policy may forbid rollbacks beyond the window, or have no window at all', () => {
    expect(() => decideManualRollback(request('2026-05-22T16:00:00Z', { manualWindowMinutes: 60, beyondWindow: 'forbidden' }, { incidentReviewRef: 'IR-1' }))).toThrow(RollbackForbiddenError);
    expect(decideManualRollback(request('2026-06-22T16:00:00Z', { beyondWindow: 'allowed' }))[0].data.basis).toBe('no_window');
  });

  it('needs a reason', () => {
    expect(() => decideManualRollback(request('2026-05-22T14:10:00Z', staging, { reason: '' }))).toThrow(ReasonRequiredError);
  });
});
