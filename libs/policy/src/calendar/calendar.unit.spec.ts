import { readdirSync, readFileSync } from 'node:fs';
import { environmentCalendar, getEnvironmentPolicy, interval, loadPolicySet, parsePolicyFile, type EnvironmentPolicy } from '../index.js';

const POLICY_DIR = new URL('../../../../deploy/policies/', import.meta.url);
const repoPolicies = loadPolicySet(readdirSync(POLICY_DIR).map((name) => ({ name, contents: readFileSync(new URL(name, POLICY_DIR), 'utf8') })));
const production = getEnvironmentPolicy(repoPolicies, 'production');
const staging = getEnvironmentPolicy(repoPolicies, 'staging');

/** A sandbox environment with the given YAML for windows/blackouts. */
function sandbox(rules: string): EnvironmentPolicy {
  return parsePolicyFile(
    'sandbox.yaml',
    `apiVersion: gatehouse/v1
kind: EnvironmentPolicy
environment: sandbox
purpose: Calendar tests
clusters: []
regions: [local]
access: { deploy: [developer] }
approvals: { required: [] }
emergency: { allowed: true, approvals: [] }
rollback: { automatic: {} }
strategy: { default: big-bang, allowed: [big-bang] }
monitoring: { postDeploymentHours: 0 }
requirements: {}
${rules}`,
  );
}

const iso = (instants: readonly { start: Date; end: Date }[]) => instants.map((i) => [i.start.toISOString(), i.end.toISOString()]);
const range = (from: string, to: string) => interval(Date.parse(from), Date.parse(to));

describe('windows follow their time zone across daylight-saving changes (2026)', () => {
  const weekdayWindow = (zone: string, start: string, end: string) =>
    sandbox(`frequency: { mode: windowed, description: weekdays }
windows:
  - { id: weekdays, name: Weekdays, days: [mon, tue, wed, thu, fri], start: "${start}", end: "${end}", timeZone: ${zone} }
`);

  it('given Europe/Berlin 10:00–12:00, when summer time starts on Sun 29 Mar, then the window moves from 09:00Z to 08:00Z', () => {
    const calendar = environmentCalendar(weekdayWindow('Europe/Berlin', '10:00', '12:00'), range('2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z'));
    expect(iso(calendar.windows)).toEqual([
      ['2026-03-27T09:00:00.000Z', '2026-03-27T11:00:00.000Z'],
      ['2026-03-30T08:00:00.000Z', '2026-03-30T10:00:00.000Z'],
    ]);
  });

  it('given Europe/Berlin 10:00–12:00, when summer time ends on Sun 25 Oct, then the window moves back to 09:00Z', () => {
    const calendar = environmentCalendar(weekdayWindow('Europe/Berlin', '10:00', '12:00'), range('2026-10-23T00:00:00Z', '2026-10-27T00:00:00Z'));
    expect(iso(calendar.windows)).toEqual([
      ['2026-10-23T08:00:00.000Z', '2026-10-23T10:00:00.000Z'],
      ['2026-10-26T09:00:00.000Z', '2026-10-26T11:00:00.000Z'],
    ]);
  });

  it('given America/New_York 09:00–17:00, when DST starts (Mar 8) and ends (Nov 1), then the UTC window shifts by an hour each time', () => {
    const policy = weekdayWindow('America/New_York', '09:00', '17:00');
    expect(iso(environmentCalendar(policy, range('2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z')).windows)).toEqual([
      ['2026-03-06T14:00:00.000Z', '2026-03-06T22:00:00.000Z'],
      ['2026-03-09T13:00:00.000Z', '2026-03-09T21:00:00.000Z'],
    ]);
    expect(iso(environmentCalendar(policy, range('2026-10-30T00:00:00Z', '2026-11-03T00:00:00Z')).windows)).toEqual([
      ['2026-10-30T13:00:00.000Z', '2026-10-30T21:00:00.000Z'],
      ['2026-11-02T14:00:00.000Z', '2026-11-02T22:00:00.000Z'],
    ]);
  });

  it('given a daily window across the spring-forward night, then the DST day is an hour shorter in instants', () => {
    const policy = sandbox(`frequency: { mode: windowed, description: nightly }
windows:
  - { id: nightly, name: Nightly, start: "01:00", end: "04:00", timeZone: Europe/Berlin }
`);
    const [before, dstDay] = environmentCalendar(policy, range('2026-03-28T00:00:00Z', '2026-03-29T12:00:00Z')).windows;
    expect(before && before.end.getTime() - before.start.getTime()).toBe(3 * 3_600_000);
    expect(dstDay && [dstDay.start.toISOString(), dstDay.end.toISOString()]).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T02:00:00.000Z']);
  });
});

describe('blackouts', () => {
  const year2026 = range('2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
  const blockedBy = (policy: EnvironmentPolicy, ruleId: string, within = year2026) =>
    iso(environmentCalendar(policy, within).blocked.filter((b) => b.ruleId === ruleId));

  it('Black Friday week blocks Nov 20 00:00 up to Nov 28 00:00 UTC (Nov 27 inclusive)', () => {
    expect(blockedBy(production, 'black-friday-week')).toEqual([['2026-11-20T00:00:00.000Z', '2026-11-28T00:00:00.000Z']]);
  });

  it('the last 3 days of each quarter are blocked', () => {
    expect(blockedBy(production, 'quarter-end')).toEqual([
      ['2026-03-29T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['2026-06-28T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
      ['2026-09-28T00:00:00.000Z', '2026-10-01T00:00:00.000Z'],
      ['2026-12-29T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ]);
  });

  it('the 2026 US holiday weekends: holiday + contiguous weekend + bridge day', () => {
    expect(environmentCalendar(production, year2026).blocked.filter((b) => b.ruleId === 'us-holiday-weekends').map((b) => [b.name, b.start.toISOString().slice(0, 10), b.end.toISOString().slice(0, 10)])).toEqual([
      ["Major US holiday weekends: New Year's Day", '2026-01-01', '2026-01-05'], // Thu + bridge Fri + weekend
      ['Major US holiday weekends: Memorial Day', '2026-05-23', '2026-05-26'], // Sat–Mon
      ['Major US holiday weekends: Independence Day', '2026-07-03', '2026-07-06'], // Sat, observed Fri: Fri–Sun
      ['Major US holiday weekends: Labor Day', '2026-09-05', '2026-09-08'], // Sat–Mon
      ['Major US holiday weekends: Thanksgiving Day', '2026-11-26', '2026-11-30'], // Thu–Sun
      ['Major US holiday weekends: Christmas Day', '2026-12-25', '2026-12-28'], // Fri–Sun
    ]);
  });

  it('a Tuesday holiday bridges back over Monday; a Wednesday holiday blocks only itself', () => {
    const christmas = (year: number) =>
      environmentCalendar(production, range(`${year}-12-20T00:00:00Z`, `${year}-12-27T00:00:00Z`))
        .blocked.filter((b) => b.name.endsWith('Christmas Day'))
        .map((b) => [b.start.toISOString().slice(0, 10), b.end.toISOString().slice(0, 10)]);
    expect(christmas(2029)).toEqual([['2029-12-22', '2029-12-26']]); // Tue → Sat–Tue
    expect(christmas(2030)).toEqual([['2030-12-25', '2030-12-26']]); // Wed → Wed only
  });

  it("New Year's Day 2028 (Saturday) is observed on Fri 31 Dec 2027 and blocks Fri–Sun across the year end", () => {
    const blocked = environmentCalendar(production, range('2027-12-30T00:00:00Z', '2028-01-04T00:00:00Z')).blocked.filter((b) => b.ruleId === 'us-holiday-weekends');
    expect(iso(blocked)).toEqual([['2027-12-31T00:00:00.000Z', '2028-01-03T00:00:00.000Z']]);
  });

  it('a yearly range that wraps the year end blocks into January', () => {
    const policy = sandbox(`frequency: { mode: continuous, description: any time }
blackouts:
  - { id: holidays, name: Year-end holidays, kind: yearly, from: "12-20", to: "01-05" }
`);
    expect(blockedBy(policy, 'holidays')).toEqual([
      ['2025-12-20T00:00:00.000Z', '2026-01-06T00:00:00.000Z'],
      ['2026-12-20T00:00:00.000Z', '2027-01-06T00:00:00.000Z'],
    ]);
  });

  it('a quarter end in a non-UTC zone starts at local midnight', () => {
    const policy = sandbox(`frequency: { mode: continuous, description: any time }
blackouts:
  - { id: quarter-end, name: Quarter end, kind: quarter_end, lastDays: 3, timeZone: America/New_York }
`);
    expect(blockedBy(policy, 'quarter-end', range('2026-03-01T00:00:00Z', '2026-04-02T00:00:00Z'))).toEqual([['2026-03-29T04:00:00.000Z', '2026-04-01T04:00:00.000Z']]);
  });

  it('a fixed blackout is [from, to)', () => {
    const policy = sandbox(`frequency: { mode: continuous, description: any time }
blackouts:
  - { id: migration, name: Datacenter migration, kind: fixed, from: "2026-05-02T08:00:00Z", to: "2026-05-03T20:00:00Z" }
`);
    const calendar = environmentCalendar(policy, range('2026-05-01T00:00:00Z', '2026-05-05T00:00:00Z'));
    expect(iso(calendar.allowed)).toEqual([
      ['2026-05-01T00:00:00.000Z', '2026-05-02T08:00:00.000Z'],
      ['2026-05-03T20:00:00.000Z', '2026-05-05T00:00:00.000Z'],
    ]);
  });
});

describe('freezes', () => {
  const majorRelease = { scheduledAt: new Date('2026-06-10T14:00:00Z'), name: 'v3.0.0' };

  it('given a major release on Jun 10 14:00Z, then staging is frozen from Jun 8 14:00Z until the release', () => {
    const calendar = environmentCalendar(staging, range('2026-06-07T00:00:00Z', '2026-06-12T00:00:00Z'), { context: { majorReleases: [majorRelease] } });
    expect(calendar.blocked.map((b) => [b.ruleId, b.name, b.start.toISOString(), b.end.toISOString()])).toEqual([
      ['major-release-freeze', 'Change freeze before a major release (v3.0.0 at 2026-06-10T14:00Z)', '2026-06-08T14:00:00.000Z', '2026-06-10T14:00:00.000Z'],
    ]);
    // The daily 14:00 slots of Jun 8 and Jun 9 are gone; Jun 10 opens at the release.
    expect(iso(calendar.allowed)).toEqual([
      ['2026-06-07T14:00:00.000Z', '2026-06-07T15:00:00.000Z'],
      ['2026-06-10T14:00:00.000Z', '2026-06-10T15:00:00.000Z'],
      ['2026-06-11T14:00:00.000Z', '2026-06-11T15:00:00.000Z'],
    ]);
  });

  it('emergency changes are exempt from the freeze', () => {
    const calendar = environmentCalendar(staging, range('2026-06-07T00:00:00Z', '2026-06-12T00:00:00Z'), { changeType: 'emergency', context: { majorReleases: [majorRelease] } });
    expect(calendar.blocked).toEqual([]);
  });

  it('without a scheduled major release there is no freeze', () => {
    expect(environmentCalendar(staging, range('2026-06-07T00:00:00Z', '2026-06-12T00:00:00Z')).blocked).toEqual([]);
  });
});
