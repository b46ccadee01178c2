/**
 * What-if on the recorded Black Friday week, against proposals whose answer the test works out on
 * its own from the recorded bookings (calendar arithmetic, not the policy engine).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadPolicySet, type PolicyFile } from '@gatehouse/policy';
import { toAuditEvent, whatIfPolicy, whatIfTable } from '../index.js';

type Raw = { type: string; streamId: string; globalPosition: string; recordedAt: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
const raw: Raw[] = readFileSync(new URL('./fixtures/black-friday-week.ndjson', import.meta.url), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Raw);
const events = raw.map(toAuditEvent);
const POLICIES = new URL('../../../../deploy/policies/', import.meta.url);
const current: PolicyFile[] = readdirSync(POLICIES).filter((name) => name.endsWith('.yaml')).sort().map((name) => ({ name, contents: readFileSync(new URL(name, POLICIES), 'utf8') }));
const withProduction = (edit: (yaml: string) => string): PolicyFile[] => current.map((f) => (f.name === 'production.yaml' ? { ...f, contents: edit(f.contents) } : f));
const PERIOD = { from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-12-07T00:00:00Z') };
const HOUR_MS = 3_600_000;
const bookings = raw.filter((e) => e.type === 'DeploymentScheduled');

it('changes nothing under the policy that was in force', () => {
  const report = whatIfPolicy(events, loadPolicySet(current), PERIOD);
  expect(report.changes).toHaveLength(bookings.length);
  expect(report.summary).toEqual({ refused: 0, delayed: 0, earlier: 0, allowed: 0, unchanged: bookings.length });
});

it('a Thursday-only production window delays each normal change booked on a Tuesday by two days; emergencies keep their bypass', () => {
  const report = whatIfPolicy(events, loadPolicySet(withProduction((yaml) => yaml.replace('days: [tue, thu]', 'days: [thu]'))), PERIOD);
  const expected = bookings.map((b) => {
    const at = new Date(b.data['scheduledFor'] as string);
    const movesToThursday = b.data['environment'] === 'production' && b.data['changeType'] !== 'emergency' && at.getUTCDay() === 2;
    return [b.data['changeRequestId'], movesToThursday ? 'delayed' : 'unchanged', movesToThursday ? (48 * HOUR_MS) / 60_000 : 0];
  });
  expect(report.changes.map((c) => [c.changeRequestId, c.verdict, c.delayMinutes])).toEqual(expected);
  expect(expected.filter(([, verdict]) => verdict === 'delayed').length).toBeGreaterThan(0);
  expect(whatIfTable(report)).toContain('| delayed | 2.0 d |');
});

it('a security approval added to production refuses every normal production change, which never had one', () => {
  const report = whatIfPolicy(events, loadPolicySet(withProduction((yaml) => yaml.replace('    - role: sre\n  separationOfDuties', '    - role: sre\n    - role: security\n  separationOfDuties'))), PERIOD);
  const normalProduction = new Set(bookings.filter((b) => b.data['environment'] === 'production' && b.data['changeType'] === 'normal').map((b) => b.data['changeRequestId']));
  expect(normalProduction.size).toBe(3);
  for (const line of report.changes) {
    if (normalProduction.has(line.changeRequestId)) {
      expect(line).toMatchObject({ verdict: 'refused', missingApprovals: [{ role: 'security', missing: 1 }], proposed: { outcome: 'refused', reasons: [expect.stringContaining('1 security')] } });
    } else {
      expect(line.verdict).toBe('unchanged');
    }
  }
});
