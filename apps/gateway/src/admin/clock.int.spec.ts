import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { createInProcessCommandBus } from '@gatehouse/bus';
import { secretKey } from '../auth/jwt.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { readGatewayConfig } from '../config.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const SECRET = 'clock-test-secret-long-enough-for-hs256!';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function bearer(sub: string, roles: string[]): Promise<string> {
  return `Bearer ${await new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET))}`;
}

async function started(dataDir: string, control: 'on' | 'off'): Promise<RunningGateway> {
  return startGateway(
    readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, GATEHOUSE_JWT_SECRET: SECRET, GATEHOUSE_CLOCK: '2026-11-23T08:00:00Z', GATEHOUSE_CLOCK_CONTROL: control, LOG_LEVEL: 'silent' }),
  );
}

describe('PUT /api/admin/clock', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-clock-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  async function put(gateway: RunningGateway, authorization: string | undefined, body: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gateway.url}/api/admin/clock`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it('moves the clock every rule reads, for a release engineer or SRE, when clock control is on', async () => {
    const gateway = await started(dataDir, 'on');
    try {
      const sre = await bearer('sam', ['sre']);
      const moved = await put(gateway, sre, { at: '2026-11-27T15:00:00Z' });
      expect(moved).toMatchObject({ status: 200, body: { now: '2026-11-27T15:00:00.000Z', appliedBy: ['gatehouse'], setting: { running: false } } });
      expect(gateway.clock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');
      // Policy evaluation "now" is Black Friday: production is blocked.
      const decision = (await (await fetch(`${gateway.url}/api/policy/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ environment: 'production' }) })).json()) as Json;
      expect(decision.allowed).toBe(false);
      const read = (await (await fetch(`${gateway.url}/api/admin/clock`, { headers: { authorization: sre } })).json()) as Json;
      expect(read).toMatchObject({ now: '2026-11-27T15:00:00.000Z', control: 'on' });
    } finally {
      await gateway.close();
    }
  });

  it('refuses bad input, a missing token and the wrong role, and leaves the clock where it was', async () => {
    const gateway = await started(dataDir, 'on');
    try {
      const sre = await bearer('sam', ['sre']);
      expect(await put(gateway, sre, { at: 'next tuesday' })).toMatchObject({ status: 400, body: { issues: [expect.objectContaining({ field: 'at' })] } });
      expect(await put(gateway, sre, { at: '2026-11-27T15:00:00Z', speed: 10 })).toMatchObject({ status: 400 });
      expect((await put(gateway, undefined, { at: '2026-11-27T15:00:00Z' })).status).toBe(401);
      const developer = await put(gateway, await bearer('ana', ['developer']), { at: '2026-11-27T15:00:00Z' });
      expect(developer.status).toBe(403);
      expect(developer.body.message).toMatch(/release_engineer, sre/);
      // Never set: the clock still runs from GATEHOUSE_CLOCK.
      expect(gateway.clockControl?.clock.setting).toBeNull();
      expect(gateway.clock.now().getTime()).toBeLessThan(Date.parse('2026-11-24T00:00:00Z'));
    } finally {
      await gateway.close();
    }
  });

  it('is refused with how to switch it on when clock control is off', async () => {
    const gateway = await started(dataDir, 'off');
    try {
      const refused = await put(gateway, await bearer('sam', ['sre']), { at: '2026-11-27T15:00:00Z' });
      expect(refused).toMatchObject({ status: 403, body: { error: 'ClockControlDisabledError' } });
      expect(refused.body.message).toMatch(/GATEHOUSE_CLOCK_CONTROL=on/);
    } finally {
      await gateway.close();
    }
  });

  it('in one process, moves the shared clock even when NATS_URL is set (the services are on the caller’s bus)', async () => {
    const commands = createInProcessCommandBus();
    const gateway = await startGateway(
      readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, GATEHOUSE_JWT_SECRET: SECRET, NATS_URL: 'nats://127.0.0.1:1', GATEHOUSE_CLOCK_CONTROL: 'on', LOG_LEVEL: 'silent' }),
      { commands },
    );
    try {
      expect(await put(gateway, await bearer('sam', ['sre']), { at: '2026-11-27T15:00:00Z' })).toMatchObject({ status: 200, body: { appliedBy: ['gatehouse'] } });
    } finally {
      await gateway.close();
      await commands.close();
    }
  });

  it('cannot be switched on in production', () => {
    expect(() => readGatewayConfig({ NODE_ENV: 'production', GATEHOUSE_JWT_SECRET: SECRET, GATEHOUSE_CLOCK_CONTROL: 'on' })).toThrow(/GATEHOUSE_CLOCK_CONTROL/);
  });
});
