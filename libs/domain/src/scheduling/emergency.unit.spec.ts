import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet } from '@gatehouse/policy';
import { approvalsOfFills, emergencyBooking, type EmergencyChangeFacts, emergencyStart } from './emergency.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const policySet = loadPolicySet(readdirSync(POLICIES).filter((f) => f.endsWith('.yaml')).map((name) => ({ name, contents: readFileSync(path.join(POLICIES, name), 'utf8') })));
/** Friday of Black Friday week, also the Thanksgiving weekend: production is blacked out twice over. */
const BLACK_FRIDAY = new Date('2026-11-27T15:00:00Z');
/** Tuesday's production window. */
const TUESDAY_WINDOW = new Date('2026-12-01T10:30:00Z');

const expedited = [
  { role: 'tech_lead' as const, approver: 'tess' },
  { role: 'sre' as const, approver: 'sam' },
];
const change = (approvals: EmergencyChangeFacts['approvals']): EmergencyChangeFacts => ({ environment: 'production', author: 'alice', includesMigration: false, hasRunbook: true, approvals });

describe('emergency start', () => {
  it('lets a blackout yield to VP Engineering, recording who approved the bypass and every rule it lifted', () => {
    const start = emergencyStart(policySet, change([...expedited, { role: 'vp_engineering', approver: 'victor' }]), BLACK_FRIDAY, 'canary');
    expect(start).toMatchObject({ allowed: true, policyVersion: policySet.policyVersion, bypass: { role: 'vp_engineering', approvers: ['victor'] } });
    if (!start.allowed) throw new Error('unreachable');
    expect(start.window).toBeUndefined();
    const ruleIds = start.bypass!.reasons.map((r) => r.split(': ')[0]);
    expect(ruleIds).toEqual(
      expect.arrayContaining(['production/blackouts/black-friday-week', 'production/blackouts/us-holiday-weekends', 'production/windows/tue-thu-morning', 'production/emergency/window-bypass']),
    );
    expect(start.bypass!.reasons.at(-1)).toMatch(/VP Engineering victor approved bypassing windows and blackouts/);
  });

  it('refuses without VP Engineering, naming what is missing', () => {
    const start = emergencyStart(policySet, change(expedited), BLACK_FRIDAY, 'canary');
    expect(start.allowed).toBe(false);
    if (start.allowed) throw new Error('unreachable');
    expect(start.reasons.join('\n')).toMatch(/production\/blackouts\/black-friday-week: .*VP Engineering approval/);
  });

  it('goes at once inside a window with the expedited approvals alone, in that window and with nothing bypassed', () => {
    const start = emergencyStart(policySet, change(expedited), TUESDAY_WINDOW, 'blue-green');
    expect(start).toEqual({ allowed: true, window: { windowId: 'tue-thu-morning' }, policyVersion: policySet.policyVersion });
  });

  it('still holds the author to separation of duties', () => {
    const start = emergencyStart(policySet, { ...change([...expedited, { role: 'vp_engineering', approver: 'alice' }]) }, BLACK_FRIDAY, 'canary');
    expect(start.allowed).toBe(false);
  });

  it('books the change for the instant it may start, with the bypass on the booking', () => {
    const start = emergencyStart(policySet, change([...expedited, { role: 'vp_engineering', approver: 'victor' }]), BLACK_FRIDAY, 'canary');
    if (!start.allowed) throw new Error('unreachable');
    const booking = emergencyBooking(
      { changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'checkout', version: '2.0.4', environment: 'production', changeType: 'emergency', strategy: 'canary' },
      BLACK_FRIDAY,
      start,
    );
    expect(booking).toMatchObject({ scheduledFor: '2026-11-27T15:00:00.000Z', policyVersion: policySet.policyVersion, emergencyBypass: { role: 'vp_engineering', approvers: ['victor'] } });
    expect(booking.windowId).toBeUndefined();
  });

  it('reads the approvals of a full approval, one per approver and role', () => {
    expect(approvalsOfFills([{ role: 'tech_lead', approvers: ['tess'] }, { role: 'sre', approvers: ['sam', 'sid'] }])).toEqual([
      { role: 'tech_lead', approver: 'tess' },
      { role: 'sre', approver: 'sam' },
      { role: 'sre', approver: 'sid' },
    ]);
  });
});
