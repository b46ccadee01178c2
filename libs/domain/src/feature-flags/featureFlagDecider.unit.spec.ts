import { DeciderSpecification } from '@gatehouse/testing';
import { NotFoundError, UnknownEnvironmentError, ValidationError } from '../errors.js';
import { featureFlagDecider, FlagChangeForbiddenError, type ChangeFeatureFlag, type FeatureFlagEvent } from './featureFlagDecider.js';

const spec = DeciderSpecification.for(featureFlagDecider);
const NOW = new Date('2026-12-01T10:00:00Z');
const change = (change: unknown, overrides: Partial<ChangeFeatureFlag['data']> = {}): ChangeFeatureFlag => ({
  type: 'ChangeFeatureFlag',
  data: {
    name: 'new-checkout',
    environment: 'production',
    mode: 'replace',
    change,
    changedBy: 'sam',
    changerRoles: ['sre'],
    allowedRoles: ['sre', 'release_engineer'],
    knownEnvironments: ['development', 'staging', 'production'],
    now: NOW,
    ...overrides,
  },
});
const created: FeatureFlagEvent = {
  type: 'FeatureFlagChanged',
  data: {
    name: 'new-checkout',
    environment: 'production',
    description: 'the new checkout',
    service: 'checkout',
    enabled: true,
    rollout: { strategy: 'percentage', percentage: 10 },
    previous: null,
    changedBy: 'sam',
    changedAt: NOW.toISOString(),
  },
};

describe('feature flag decider', () => {
  it('records a whole setting for an environment, with who changed it and what it was before', () => {
    spec
      .given([])
      .when(change({ description: 'the new checkout', service: 'checkout', enabled: true, rollout: { strategy: 'percentage', percentage: 10 } }))
      .then([created]);
    spec
      .given([created])
      .when(change({ rollout: { strategy: 'percentage', percentage: 50 } }, { mode: 'merge' }))
      .thenEvents(([event]) => expect(event?.data).toMatchObject({ rollout: { strategy: 'percentage', percentage: 50 }, enabled: true, previous: { enabled: true, rollout: { percentage: 10 } } }));
  });

  it('refuses a person without the environment’s deploy roles, an unknown environment and bad fields by name', () => {
    spec.given([]).when(change({ enabled: true, rollout: { strategy: 'immediate' } }, { changerRoles: ['developer'] })).thenThrows(FlagChangeForbiddenError, (e) => e.allowedRoles.includes('sre'));
    spec.given([]).when(change({ enabled: true, rollout: { strategy: 'immediate' } }, { environment: 'moon' })).thenThrows(UnknownEnvironmentError);
    spec
      .given([])
      .when(change({ enabled: 'yes', rollout: { strategy: 'percentage', percentage: 140 } }))
      .thenThrows(ValidationError, (e) => e.issues.some((i) => i.field === 'enabled') && e.issues.some((i) => i.field === 'rollout.percentage'));
    spec.given([]).when(change({ enabled: true, rollout: { strategy: 'immediate' } }, { name: 'Bad Name' })).thenThrows(ValidationError, (e) => e.issues[0]?.field === 'name');
    spec.given([]).when(change({ enabled: false }, { mode: 'merge' })).thenThrows(NotFoundError);
  });

  it('records nothing when the setting asked for is already in place', () => {
    spec.given([created]).when(change({ enabled: true }, { mode: 'merge' })).thenNothingHappened();
  });

  it('is ramped by a deployment step (keeping its bucketing group) and turned off by its rollback, once each', () => {
    const grouped: FeatureFlagEvent = { ...created, data: { ...created.data, rollout: { strategy: 'percentage', percentage: 10, groupId: 'checkout-v2' } } };
    const ramp = { deploymentId: 'd1', changeRequestId: 'cr1', stepIndex: 2 };
    spec
      .given([grouped])
      .when({ type: 'RampFeatureFlag', data: { name: 'new-checkout', environment: 'production', percentage: 50, ramp, now: NOW } })
      .thenEvents(([event], state) => {
        expect(event).toMatchObject({ type: 'FeatureFlagRamped', data: { percentage: 50, rollout: { strategy: 'percentage', percentage: 50, groupId: 'checkout-v2' }, ...ramp } });
        expect(state.environments['production']?.ramp).toEqual(ramp);
      });
    const ramped: FeatureFlagEvent = {
      type: 'FeatureFlagRamped',
      data: { ...created.data, rollout: { strategy: 'percentage', percentage: 50 }, previous: { enabled: true, rollout: { strategy: 'percentage', percentage: 10 } }, ...ramp, percentage: 50, rampedAt: NOW.toISOString() },
    };
    spec.given([created, ramped]).when({ type: 'RampFeatureFlag', data: { name: 'new-checkout', environment: 'production', percentage: 50, ramp, now: NOW } }).thenNothingHappened();
    const off = { type: 'TurnOffFeatureFlag', data: { name: 'new-checkout', environment: 'production', deploymentId: 'd1', changeRequestId: 'cr1', reason: 'rolled back', now: NOW } } as const;
    spec.given([created, ramped]).when(off).thenEvents(([event], state) => {
      expect(event).toMatchObject({ type: 'FeatureFlagTurnedOff', data: { enabled: false, reason: 'rolled back' } });
      expect(state.environments['production']?.enabled).toBe(false);
    });
    spec.given([]).when(off).thenThrows(NotFoundError);
  });
});
