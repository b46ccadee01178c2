/**
 * The console signs in through the company's identity provider in real headless Chromium: authorization
 * code + PKCE against a real OpenID Connect provider (`oidc-provider` with its development sign-in and
 * consent pages), back to `/auth/callback`, code exchanged in the browser, and the gateway accepting the
 * provider's token with the person's mapped roles. A callback whose state this tab did not start is refused.
 */
import { existsSync } from 'node:fs';
import { type GatehouseSystem, startEmbeddedGatehouse } from '@gatehouse/testing';
import { startTestOidcProvider, type TestOidcProvider, testSigningKey } from '@gatehouse/testing/oidc';
import playwright, { type Browser } from 'playwright-core';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const AUDIENCE = 'https://gatehouse.example/api';

describe('console sign-in with the identity provider (authorization code + PKCE) in headless Chromium', () => {
  let provider: TestOidcProvider;
  let system: GatehouseSystem;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
    provider = await startTestOidcProvider({ audience: AUDIENCE, keys: [await testSigningKey('k1')], browserClientId: 'gatehouse-console', accounts: { rui: ['release-managers'] } });
    system = await startEmbeddedGatehouse({
      startAt: '2026-11-17T08:00:00Z',
      env: {
        gatehouse: {
          GATEHOUSE_OIDC_ISSUER: provider.issuer,
          GATEHOUSE_OIDC_AUDIENCE: AUDIENCE,
          GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse-console',
          GATEHOUSE_OIDC_ROLES_CLAIM: 'groups',
          GATEHOUSE_OIDC_ROLE_MAP: 'release-managers=release_engineer+auditor',
        },
      },
    });
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await system?.close();
    await provider?.close();
  });

  it('signs in at the provider and comes back signed in as the person, with the roles their groups map to', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.url}/`);
    await page.getByTestId('oidc-sign-in').click();
    // The provider's own pages (development interactions): sign in as rui, then consent.
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.locator('input[name="login"]').fill('rui');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
    // Back on the console, signed in: the Audit page is offered (auditor via release-managers).
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).pathname).not.toBe('/auth/callback');
    await page.getByRole('link', { name: 'Audit' }).waitFor();
    const session = await page.evaluate("JSON.parse(sessionStorage.getItem('gatehouse.session') ?? 'null')") as { token: string };
    expect(session).toMatchObject({ subject: 'rui', roles: expect.arrayContaining(['release_engineer', 'auditor']) });
    // The token is the provider's, and the gateway takes it for an audit read.
    const response = await fetch(`${system.url}/api/audit/verify`, { headers: { authorization: `Bearer ${session.token}` } });
    expect(response.status).toBe(200);
  });

  it('refuses a callback this tab did not start (forged state), and stays signed out', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.url}/auth/callback?code=stolen&state=forged`);
    await page.getByText(/no sign-in was started in this tab/).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('gatehouse.session')")).toBeNull();
  });
});
