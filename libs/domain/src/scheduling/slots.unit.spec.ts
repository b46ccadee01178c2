import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet } from '@gatehouse/policy';
import { checkDeploymentSlot, findDeploymentSlot } from './slots.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const policySet = loadPolicySet(readdirSync(POLICIES).filter((f) => f.endsWith('.yaml')).map((name) => ({ name, contents: readFileSync(path.join(POLICIES, name), 'utf8') })));
const base = { service: 'campaign-api', environment: 'production', changeType: 'normal', strategy: 'canary' } as const;
const bookedTue = { changeRequestId: 'cr-1', service: 'campaign-api', environment: 'production', scheduledFor: '2026-12-01T10:00:00.000Z' };

describe('findDeploymentSlot', () => {
  it('books a production change approved in Black Friday week into Tuesday 10:00 after it', () => {
    const slot = findDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-1', from: new Date('2026-11-25T15:00:00Z'), bookings: [] });
    expect(slot).toMatchObject({ found: true, scheduledFor: new Date('2026-12-01T10:00:00Z'), window: { windowId: 'tue-thu-morning' }, skippedWindows: 0 });
  });

  it('moves a second change of the same service to the next window (one per service per window)', () => {
    const slot = findDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-2', from: new Date('2026-11-25T15:00:00Z'), bookings: [bookedTue] });
    expect(slot).toMatchObject({ found: true, scheduledFor: new Date('2026-12-03T10:00:00Z'), skippedWindows: 1 });
  });

  it('another service shares the window', () => {
    const slot = findDeploymentSlot(policySet, { ...base, service: 'billing', changeRequestId: 'cr-3', from: new Date('2026-11-25T15:00:00Z'), bookings: [bookedTue] });
    expect(slot).toMatchObject({ found: true, scheduledFor: new Date('2026-12-01T10:00:00Z') });
  });

  it("ignores the change's own booking (re-planning it)", () => {
    const slot = findDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-1', from: new Date('2026-11-25T15:00:00Z'), bookings: [bookedTue] });
    expect(slot).toMatchObject({ found: true, scheduledFor: new Date('2026-12-01T10:00:00Z') });
  });
});

describe('checkDeploymentSlot', () => {
  it('refuses a requested time inside the blackout with the reason and the next allowed time', () => {
    const check = checkDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-1', at: new Date('2026-11-24T10:00:00Z'), bookings: [] });
    expect(check.allowed).toBe(false);
    if (check.allowed) return;
    expect(check.reasons.join('\n')).toContain('Black Friday week');
    expect(check.nextAllowedAt).toEqual(new Date('2026-12-01T10:00:00Z'));
  });

  it('refuses a slot the service already fills, pointing at the next window', () => {
    const check = checkDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-2', at: new Date('2026-12-01T10:00:00Z'), bookings: [bookedTue] });
    expect(check).toMatchObject({ allowed: false, nextAllowedAt: new Date('2026-12-03T10:00:00Z') });
  });

  it('accepts an open slot and names its window', () => {
    expect(checkDeploymentSlot(policySet, { ...base, changeRequestId: 'cr-2', at: new Date('2026-12-03T10:00:00Z'), bookings: [bookedTue] })).toMatchObject({
      allowed: true,
      window: { windowId: 'tue-thu-morning' },
    });
  });
});
