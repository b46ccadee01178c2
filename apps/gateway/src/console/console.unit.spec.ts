import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile, readdir } from 'node:fs/promises';
import { getEnvironmentPolicy, loadPolicySet, type PolicySet } from '@gatehouse/policy';
import ical, { type VEvent } from 'node-ical';
import { calendarFeed } from './calendar-feed.js';
import { environmentOverview } from './environment-overview.js';
import { publicStatus } from './public-status.js';
import type { ScheduledDeploymentView } from '@gatehouse/contracts';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
/** Wednesday of Black Friday week 2026: production is in the yearly Nov 20–27 blackout. */
const BLACK_FRIDAY_WEDNESDAY = new Date('2026-11-25T10:30:00Z');

async function repoPolicies(): Promise<PolicySet> {
  const files = (await readdir(POLICIES)).filter((f) => f.endsWith('.yaml'));
  return loadPolicySet(await Promise.all(files.map(async (f) => ({ name: f, contents: await readFile(path.join(POLICIES, f), 'utf8') }))));
}

const booking = (over: Partial<ScheduledDeploymentView> = {}): ScheduledDeploymentView => ({
  changeRequestId: 'cr-0001-checkout',
  releaseId: 'release-checkout-api-3.4.1',
  service: 'checkout-api',
  version: '3.4.1',
  environment: 'production',
  changeType: 'normal',
  strategy: 'canary',
  scheduledFor: '2026-12-01T10:00:00.000Z',
  windowId: 'tue-thu-morning',
  status: 'booked',
  ...over,
});

function events(ics: string): VEvent[] {
  return Object.values(ical.sync.parseICS(ics)).filter((c): c is VEvent => c?.type === 'VEVENT');
}
const text = (value: unknown): string => (typeof value === 'string' ? value : String((value as { val?: unknown })?.val ?? ''));

describe('console read side (pure)', () => {
  let policies: PolicySet;
  beforeAll(async () => {
    policies = await repoPolicies();
  });

  describe('calendar feed (RFC 5545, read back with node-ical)', () => {
    it('holds the Black Friday blackout, the next Tuesday window and a booked change with its console link', () => {
      const production = getEnvironmentPolicy(policies, 'production');
      const ics = calendarFeed({ policy: production, bookings: [booking()], now: BLACK_FRIDAY_WEDNESDAY, consoleUrl: 'https://gatehouse.example.com' });
      const parsed = events(ics);

      const blackout = parsed.find((e) => text(e.summary).includes('Black Friday week'));
      expect(blackout).toBeDefined();
      expect(new Date(blackout!.start).toISOString()).toBe('2026-11-20T00:00:00.000Z');
      expect(new Date(blackout!.end!).toISOString()).toBe('2026-11-28T00:00:00.000Z');
      expect(text(blackout!.summary)).toMatch(/^production: Blackout/);

      // Tuesday 24 November falls in the blackout, but the window still opens in the policy; the next one after it is 1 December.
      const windows = parsed.filter((e) => text(e.summary).includes('Tuesday/Thursday release window')).map((e) => new Date(e.start).toISOString());
      expect(windows).toContain('2026-12-01T10:00:00.000Z');
      const tuesday = parsed.find((e) => new Date(e.start).toISOString() === '2026-12-01T10:00:00.000Z' && text(e.summary).includes('window'));
      expect(new Date(tuesday!.end!).toISOString()).toBe('2026-12-01T12:00:00.000Z');

      const change = parsed.find((e) => text(e.summary).includes('deploy checkout-api 3.4.1'));
      expect(change).toBeDefined();
      expect(text(change!.url)).toBe('https://gatehouse.example.com/changes/cr-0001-checkout');
      expect(new Date(change!.end!).toISOString()).toBe('2026-12-01T12:00:00.000Z');
      // Stable UIDs: a subscribed calendar updates events instead of duplicating them.
      expect(new Set(parsed.map((e) => e.uid)).size).toBe(parsed.length);
    });

    it('uses the pinned clock, not the wall clock, for its horizon and stamps', () => {
      const ics = calendarFeed({ policy: getEnvironmentPolicy(policies, 'production'), bookings: [], now: BLACK_FRIDAY_WEDNESDAY, consoleUrl: 'http://x' });
      expect(ics).toContain('DTSTAMP:20261125T103000Z');
      expect(ics).not.toContain('DTSTAMP:2027');
    });
  });

  describe('environment overview', () => {
    it('names the blackout in force with its end, the next window and the next allowed start', () => {
      const overview = environmentOverview(getEnvironmentPolicy(policies, 'production'), BLACK_FRIDAY_WEDNESDAY, { versions: [], deployments: [], changes: [] });
      expect(overview.activeBlock).toMatchObject({ name: 'Black Friday week', end: '2026-11-28T00:00:00.000Z' });
      expect(overview.currentWindow).toBeNull();
      expect(overview.nextWindow).toMatchObject({ start: '2026-11-26T10:00:00.000Z' });
      expect(overview.nextAllowedAt).toBe('2026-12-01T10:00:00.000Z');
      expect(overview.clusters.map((c) => c.name)).toContain('prod-k8s-cluster-04');
    });

    it('is degraded for a day after a rollback, deploying while a deployment runs', () => {
      const policy = getEnvironmentPolicy(policies, 'production');
      const rolledBack = { changeRequestId: 'c1', status: 'rolled_back', kind: 'normal', title: 't', environments: ['production'], releaseId: null, service: 'checkout-api', version: '3.4.1', risk: { level: 'low', score: 10 }, updatedAt: '2026-11-25T08:00:00.000Z' };
      expect(environmentOverview(policy, BLACK_FRIDAY_WEDNESDAY, { versions: [], deployments: [], changes: [rolledBack] }).health).toBe('degraded');
      expect(environmentOverview(policy, new Date('2026-11-27T10:00:00Z'), { versions: [], deployments: [], changes: [rolledBack] }).health).toBe('healthy');
      const running = { deploymentId: 'd1', changeRequestId: 'c2', service: 'checkout-api', version: '3.4.2', environment: 'production', strategy: 'canary', totalSteps: 3, currentStep: 1, currentStepName: '5%', trafficPercent: 5, startedAt: '2026-11-27T10:00:00Z' };
      expect(environmentOverview(policy, new Date('2026-11-27T10:05:00Z'), { versions: [], deployments: [running], changes: [rolledBack] }).health).toBe('deploying');
    });
  });

  describe('public status', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const facts = () => ({
      policy: getEnvironmentPolicy(policies, 'production'),
      now,
      versions: [{ service: 'checkout-api', environment: 'production', version: '3.4.1', changeRequestId: 'cr-secret-id', since: '2026-11-27T16:00:00Z', previous: ['3.4.0'] }],
      deployments: [],
      bookings: [booking({ changeRequestId: 'cr-secret-booking', scheduledFor: '2026-12-08T10:00:00.000Z' })],
      outages: [
        // A 6-hour hotfix lane and a 2-hour rollback, overlapping by an hour: 7 hours down in 30 days.
        { service: 'checkout-api', kind: 'hotfix' as const, severity: 'critical', start: Date.parse('2026-11-27T10:00:00Z'), end: Date.parse('2026-11-27T16:00:00Z') },
        { service: 'checkout-api', kind: 'rollback' as const, severity: null, start: Date.parse('2026-11-27T15:00:00Z'), end: Date.parse('2026-11-27T17:00:00Z') },
      ],
    });

    it('counts overlapping outages once in uptime and lists incidents and maintenance by time only', () => {
      const status = publicStatus(facts());
      expect(status.services).toEqual([{ service: 'checkout-api', status: 'operational', uptimePercent: Math.round((1 - 7 / (30 * 24)) * 100_000) / 1_000 }]);
      expect(status.incidents).toEqual([
        { service: 'checkout-api', kind: 'rollback', severity: null, startedAt: '2026-11-27T15:00:00.000Z', resolvedAt: '2026-11-27T17:00:00.000Z' },
        { service: 'checkout-api', kind: 'hotfix', severity: 'critical', startedAt: '2026-11-27T10:00:00.000Z', resolvedAt: '2026-11-27T16:00:00.000Z' },
      ]);
      expect(status.maintenance).toEqual([{ service: 'checkout-api', start: '2026-12-08T10:00:00.000Z', end: '2026-12-08T12:00:00.000Z' }]);
    });

    it('shows an open hotfix lane as an incident and leaks no ids, versions, people or reasons', () => {
      const open = facts();
      open.outages.push({ service: 'checkout-api', kind: 'hotfix', severity: 'high', start: Date.parse('2026-12-03T11:00:00Z'), end: null as unknown as number });
      const status = publicStatus(open);
      expect(status.overall).toBe('incident');
      const published = JSON.stringify(status);
      for (const secret of ['cr-secret-id', 'cr-secret-booking', '3.4.1', 'release-checkout', 'canary']) expect(published).not.toContain(secret);
    });
  });
});
