/**
 * The web console in real headless Chromium (Debian's chromium, driven by playwright-core) against
 * `npm start`'s one process: sign in, submit, approve in the queue (and be told before the click when
 * the rules would refuse), watch a production canary progress live, see a refusal with its next allowed
 * time, see a rollback's metric evidence drawn as a chart. Screenshots of each page land in
 * test/e2e/artifacts/ (gitignored); axe-core checks each page for serious and critical accessibility
 * violations. Also reads the iCalendar feed back with node-ical.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatehouseClient, type GatehouseSystem, HOUR, type Json, MINUTE, SEED_VALIDATION_CHECKS, startEmbeddedGatehouse } from '@gatehouse/testing';
import axe from 'axe-core';
import ical from 'node-ical';
import playwright, { type Browser, type Page } from 'playwright-core';
import { approve, bookingOf, createRelease, jumpToBooking, passGates, review, submit } from './scenarios.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
/** Tuesday 17 November 2026, before the day's production window; Black Friday week starts on the 20th. */
const START_AT = '2026-11-17T08:00:00Z';
const BLACK_FRIDAY_WEDNESDAY = '2026-11-25T10:30:00Z';

describe('web console in headless Chromium against npm start', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  let browser: Browser;
  let release = '';
  let devChange = '';
  let productionChange = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
    await mkdir(ARTIFACTS, { recursive: true });
    system = await startEmbeddedGatehouse({ startAt: START_AT });
    // Playwright gives every launch a fresh temporary profile (its --user-data-dir) and removes it on close.
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    await client.setClock(START_AT);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await system?.close();
  });

  /** A fresh tab (its own sessionStorage) signed in through the sign-in page with a pasted token. */
  async function signedIn(user: string, roles?: string[]): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${system.url}/`);
    await page.getByLabel('Access token').fill(await client.token(user, roles));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  }

  /** axe-core in the page (evaluated over the DevTools protocol: the console's CSP forbids injected scripts). */
  async function expectAccessible(page: Page, name: string): Promise<void> {
    await page.evaluate(axe.source);
    const violations = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)")) as Json[];
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n: Json) => n.target.join(' ')).join(', ')}`);
    expect(blocking).toEqual([]);
  }

  it('the public status page needs no sign-in; a pasted token signs in and the menu follows its roles', async () => {
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${system.url}/status`);
    await visitor.getByRole('heading', { name: 'Service status' }).waitFor();
    await visitor.getByText('All services operational').waitFor();
    await shot(visitor, 'status');
    await expectAccessible(visitor, 'status');

    await visitor.goto(`${system.url}/environments`);
    await visitor.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor();
    await visitor.getByLabel('Access token').fill('not-a-token');
    await visitor.getByRole('button', { name: 'Sign in' }).click();
    await visitor.getByRole('alert').getByText(/well-formed JWT/).waitFor();
    await shot(visitor, 'sign-in');
    await expectAccessible(visitor, 'sign-in');

    const developer = await signedIn('ana');
    await developer.getByRole('heading', { name: /^production/ }).waitFor();
    await developer.getByText('Tuesday/Thursday release window, 2026-11-17 10:00 UTC').first().waitFor();
    expect(await developer.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    await shot(developer, 'environments');
    await expectAccessible(developer, 'environments');
    const auditor = await signedIn('aud', ['auditor']);
    expect(await auditor.getByRole('link', { name: 'Audit' }).count()).toBe(1);
  });

  it('submits a change from the form, and the approval queue explains a refusal before the click; the server refuses it anyway', async () => {
    release = await createRelease(client, '2.2.0', '2.1.0', [{ kind: 'feature', description: 'Advanced campaign scheduling with time zones' }]);
    await passGates(client, release, 'development');
    const ana = await signedIn('ana');
    await ana.getByRole('link', { name: 'Changes' }).click();
    await ana.getByLabel('Release id').fill(release);
    await ana.getByLabel('Environment').selectOption('development');
    await ana.getByLabel('Title').fill('Campaign API 2.2.0 to development');
    await ana.getByLabel('Description').fill('Advanced campaign scheduling with time zones');
    await ana.getByLabel('Implementation plan').fill('Roll out the new image');
    await ana.getByLabel('Rollback plan').fill('Roll back to the previous image');
    await ana.getByLabel('Testing plan').fill('Unit suites');
    await ana.getByRole('button', { name: 'Submit change request' }).click();
    await ana.waitForURL(/\/changes\/[^/]+$/);
    devChange = decodeURIComponent(ana.url().split('/').at(-1)!);
    await ana.getByRole('heading', { name: 'Campaign API 2.2.0 to development' }).waitFor();
    expect(await client.changeStatus(devChange)).toBe('submitted');
    await shot(ana, 'change-submitted');
    await expectAccessible(ana, 'change');

    await review(client, devChange);
    await client.waitFor('approval request', async () => (await client.events(`approval-${devChange}`)).length > 0);
    // The author holds the reviewer role too: the queue says why the rules refuse before anything is sent.
    const author = await signedIn('ana', ['developer', 'code_reviewer']);
    await author.getByRole('link', { name: 'Approval queue' }).click();
    await author.getByTestId('approval-explanation').getByText(/separation of duties/).waitFor();
    await shot(author, 'approval-queue-refusal-explained');
    const before = (await client.events(`approval-${devChange}`)).length;
    await author.getByRole('button', { name: 'Approve as code_reviewer' }).click();
    await author.getByRole('alert').getByText(/Refused by the server/).waitFor();
    expect((await client.events(`approval-${devChange}`)).length).toBe(before);

    const reviewer = await signedIn('rui');
    await reviewer.getByRole('link', { name: 'Approval queue' }).click();
    await reviewer.getByText('The rules allow your approval as code_reviewer.').waitFor();
    await expectAccessible(reviewer, 'approval-queue');
    await reviewer.getByLabel('Comment (a rejection needs one)').fill('Looks good');
    await reviewer.getByRole('button', { name: 'Approve as code_reviewer' }).click();
    // The approval completes the request, so the queue reloads without it: the answer stays on the page.
    // (It used to live in the request's card and vanished with it as soon as the queue reloaded.)
    await reviewer.getByText('Nothing waits for your roles.').waitFor();
    await reviewer.getByRole('alert').getByText('Approved as code_reviewer.').waitFor();
    const granted = (await client.events(`approval-${devChange}`)).find((e: Json) => e.type === 'ApprovalGranted');
    expect(granted).toMatchObject({ data: { approver: 'rui', role: 'code_reviewer' } });
    await client.advanceUntilStatus(devChange, 'closed', { step: MINUTE, limit: 2 * HOUR });
  });

  it('shows a production canary progressing live over server-sent events, step by step, without reloading', async () => {
    const staging = await submit(client, 'staging', release);
    await review(client, staging);
    await approve(client, staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await client.advanceUntilStatus(staging, 'scheduled', { step: MINUTE, limit: HOUR });
    await jumpToBooking(client, staging);
    await client.advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 2 * 24 * HOUR, validation: SEED_VALIDATION_CHECKS });

    productionChange = await submit(client, 'production', release);
    await review(client, productionChange);
    await approve(client, productionChange, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await client.advanceUntilStatus(productionChange, 'scheduled', { step: MINUTE, limit: HOUR });
    const { scheduledFor } = await bookingOf(client, productionChange);

    const sre = await signedIn('sam', ['sre']);
    await sre.goto(`${system.url}/changes/${productionChange}`);
    await sre.getByText(`Booked for ${scheduledFor.slice(0, 16).replace('T', ' ')} UTC`).waitFor();
    // Outside the window the policy refuses a start now, and says when it may start: the booked slot.
    const refusal = sre.getByRole('status', { name: 'Policy refuses a start now' });
    await refusal.getByText(/window/).waitFor();
    expect(await sre.getByTestId('policy-next-allowed').textContent()).toBe(`${scheduledFor.slice(0, 16).replace('T', ' ')} UTC`);
    await shot(sre, 'change-refused-until-window');
    await sre.getByText('Live updates: live').waitFor();

    // The page stays open while the clock moves through the canary; what it shows comes over SSE.
    const doneSteps = sre.locator('[data-testid="deployment-step"][data-status="done"]');
    const seen: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        seen.push(await doneSteps.count());
        if (seen.at(-1)! > 0 && seen.at(-2) === 0) await shot(sre, 'canary-in-progress');
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    await jumpToBooking(client, productionChange);
    await client.advanceUntilStatus(productionChange, 'validating', { step: 10 * MINUTE, limit: 4 * HOUR, scrape: { service: 'campaign-api', environment: 'production' } });
    // Deployed: CI reports the post-deployment checks production asks for.
    await client.publishValidation(productionChange);
    await sre.locator('[data-testid="deployment-step"][data-status="done"]').nth(2).waitFor({ timeout: 20_000 });
    sampling = false;
    await sampler;
    expect(await sre.getByTestId('deployment-step').count()).toBe(3);
    // The status, read again as events arrive, no longer says scheduled, and the policy panel is gone.
    await sre.getByTestId('change-status').filter({ hasText: /^(validating|validated|closed)$/ }).waitFor();
    expect(await sre.getByRole('status', { name: 'Policy refuses a start now' }).count()).toBe(0);
    // Seen on the open page as it happened: first none, then some steps done and others not, then all three.
    expect(seen.some((n) => n > 0 && n < 3)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    await shot(sre, 'canary-done');
    await expectAccessible(sre, 'change-canary');
  });

  it('draws the rollback evidence of a failed production watch: the error-rate series, its threshold and the breach', async () => {
    // The canary above is in its post-deployment watch: five minutes of 5% errors, scraped every 30 s, roll it back.
    expect(await client.changeStatus(productionChange)).toBe('validating');
    const sre = await signedIn('sam', ['sre']);
    await sre.goto(`${system.url}/changes/${productionChange}`);
    await sre.getByText('Live updates: live').waitFor();
    // The canary's last healthy sample is at this instant: the breach starts one scrape later.
    await client.advance(30_000);
    const breaching: string[] = [];
    for (let i = 0; i < 11; i++) {
      breaching.push(client.now.toISOString());
      await client.ok('POST', '/api/metrics/samples', 'sam', { service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: breaching.at(-1), value: 0.05 }] });
      if (i < 10) await client.advance(30_000);
    }
    await client.advanceUntilStatus(productionChange, 'closed', { step: MINUTE, limit: HOUR });
    const fired = (await client.events(`watch-${productionChange}`)).filter((e: Json) => e.type === 'RollbackTriggerFired');
    expect(fired).toHaveLength(1);

    // The page, still open, receives the rollback over SSE and draws the evidence.
    const evidence = sre.getByRole('region', { name: 'Rollback evidence' });
    await evidence.getByText(/^Rolled back \(automatic\)/).waitFor({ timeout: 30_000 });
    await evidence.getByText(`Trigger ${fired[0].data.triggerId}`, { exact: false }).waitFor();
    const chart = evidence.getByRole('img', { name: /^error_rate \(> 0\.01 for 300s\): \d+ samples from .* maximum 0\.05, threshold 0\.01$/ });
    await chart.waitFor();
    const drawn = await chart.evaluate((svg) => {
      const threshold = svg.querySelector('line[stroke-dasharray]');
      return {
        points: [...svg.querySelectorAll('circle')].map((c) => Number(c.getAttribute('cy'))),
        segments: (svg.querySelector('path')?.getAttribute('d') ?? '').split(' ').length,
        thresholdY: threshold === null ? null : Number(threshold.getAttribute('y1')),
        breach: svg.querySelector('rect') !== null,
      };
    });
    // One marker per sample and one path segment per marker; the eleven breaching samples lie above the dashed threshold.
    expect(drawn.points.length).toBeGreaterThanOrEqual(breaching.length);
    expect(drawn.segments).toBe(drawn.points.length);
    expect(drawn.thresholdY).not.toBeNull();
    expect(drawn.points.filter((cy) => cy < drawn.thresholdY!).length).toBe(breaching.length);
    expect(drawn.breach).toBe(true);
    await chart.screenshot({ path: path.join(ARTIFACTS, 'console-rollback-chart.png') });
    await shot(sre, 'change-rolled-back');
    await expectAccessible(sre, 'change-rollback-evidence');
  });

  it('shows the Black Friday blackout with its end and the next allowed start, in the pages and in the calendar feed', async () => {
    await client.setClock(BLACK_FRIDAY_WEDNESDAY);
    const ana = await signedIn('ana');
    const production = ana.getByRole('article', { name: /^production/ });
    await production.getByText(/Blackout: Black Friday week/).first().waitFor();
    await production.getByText(/until 2026-11-28 00:00 UTC/).first().waitFor();
    await production.getByText('2026-12-01 10:00 UTC', { exact: true }).first().waitFor();
    await shot(ana, 'environments-black-friday');

    await ana.getByRole('link', { name: 'Release calendar' }).click();
    await ana.getByRole('heading', { name: 'November 2026 · production' }).waitFor();
    await ana.locator('.entry.blackout', { hasText: 'Black Friday week' }).first().waitFor();
    await shot(ana, 'calendar-month');
    await expectAccessible(ana, 'calendar');
    await ana.getByLabel('week').check();
    await ana.getByRole('heading', { name: /^Week of 2026-11-23/ }).waitFor();
    await shot(ana, 'calendar-week');

    const feed = await fetch(`${system.url}/api/calendar/production.ics`);
    expect(feed.headers.get('content-type')).toContain('text/calendar');
    const events = Object.values(ical.sync.parseICS(await feed.text())).filter((c: Json) => c?.type === 'VEVENT') as Json[];
    const text = (v: Json): string => (typeof v === 'string' ? v : String(v?.val ?? ''));
    const blackout = events.find((e) => text(e.summary).includes('Blackout: Black Friday week'));
    expect([new Date(blackout.start).toISOString(), new Date(blackout.end).toISOString()]).toEqual(['2026-11-20T00:00:00.000Z', '2026-11-28T00:00:00.000Z']);
    expect(events.some((e) => text(e.summary).includes('release window') && new Date(e.start).toISOString() === '2026-12-01T10:00:00.000Z')).toBe(true);
  });

  it('audit timeline, verification and the status page after a production release (no names or reasons in public)', async () => {
    const auditor = await signedIn('aud', ['auditor']);
    await auditor.getByRole('link', { name: 'Audit' }).click();
    await auditor.getByRole('button', { name: 'Verify the whole log' }).click();
    await auditor.getByTestId('verify-status').getByText(/^Intact/).waitFor();
    await auditor.getByLabel('Event type').fill('ApprovalGranted');
    await auditor.getByRole('button', { name: 'Apply' }).click();
    await auditor.getByRole('cell', { name: 'ApprovalGranted' }).first().waitFor();
    await shot(auditor, 'audit');
    await expectAccessible(auditor, 'audit');

    await auditor.goto(`${system.url}/changes/${productionChange}`);
    await auditor.getByRole('cell', { name: 'ApprovalGranted' }).first().waitFor();
    await shot(auditor, 'change-story');

    const status: Json = await (await fetch(`${system.url}/api/status`)).json();
    expect(status.services).toEqual([expect.objectContaining({ service: 'campaign-api', status: expect.any(String) })]);
    const published = JSON.stringify(status);
    for (const secret of ['ana', 'rui', 'tess', 'sam', productionChange, 'Black Friday', 'reason']) expect(published).not.toContain(secret);
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${system.url}/status`);
    await visitor.getByRole('cell', { name: 'campaign-api' }).waitFor();
    await shot(visitor, 'status-after-release');
  });
});
