import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, jwtVerify } from 'jose';
import { EXIT_BAD_INPUT, EXIT_OK, run, type CliIo } from '../index.js';
import { INSECURE_DEV_JWT_SECRET } from './token.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SECRET = 'cli-test-secret-that-is-long-enough!!';

async function gatehouse(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: REPO_ROOT, now: () => new Date() };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('gatehouse token', () => {
  it('prints an HS256 JWT with sub, roles, name and the requested lifetime', async () => {
    const { code, stdout, stderr } = await gatehouse(['token', '--sub', 'ana', '--roles', 'tech_lead,sre', '--ttl', '2h', '--secret', SECRET]);
    expect(code).toBe(EXIT_OK);
    expect(stderr).toBe('');
    const { payload, protectedHeader } = await jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'ana', name: 'ana', roles: ['tech_lead', 'sre'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(2 * 3_600);
  });

  it('adds --claim name=value claims (a CI token naming the person behind the push) but never over its identity or roles', async () => {
    const { code, stdout } = await gatehouse(['token', '--sub', 'ci-bot', '--roles', 'developer', '--claim', 'actor=ivan', '--claim', 'repository=acme/api', '--secret', SECRET]);
    expect(code).toBe(EXIT_OK);
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET));
    expect(payload).toMatchObject({ sub: 'ci-bot', roles: ['developer'], actor: 'ivan', repository: 'acme/api' });
  });

  it('uses GATEHOUSE_JWT_SECRET, else the development secret with a warning', async () => {
    const fromEnv = await gatehouse(['token', '--sub', 'sam', '--roles', 'sre'], { GATEHOUSE_JWT_SECRET: SECRET });
    await expect(jwtVerify(fromEnv.stdout.trim(), new TextEncoder().encode(SECRET))).resolves.toBeDefined();
    const insecure = await gatehouse(['token', '--sub', 'sam', '--roles', 'sre']);
    expect(insecure.stderr).toContain('INSECURE');
    await expect(jwtVerify(insecure.stdout.trim(), new TextEncoder().encode(INSECURE_DEV_JWT_SECRET))).resolves.toBeDefined();
    expect(decodeJwt(insecure.stdout.trim()).exp! - decodeJwt(insecure.stdout.trim()).iat!).toBe(8 * 3_600);
  });

  it('uses the same development secret as the gateway', () => {
    const gatewayJwt = readFileSync(path.join(REPO_ROOT, 'apps/gateway/src/auth/jwt.ts'), 'utf8');
    expect(gatewayJwt).toContain(`INSECURE_DEV_JWT_SECRET = '${INSECURE_DEV_JWT_SECRET}'`);
  });

  it.each([
    [['--roles', 'overlord'], "unknown role 'overlord'"],
    [['--roles', 'sre', '--ttl', 'forever'], '--ttl forever'],
    [['--roles', 'sre', '--ttl', '90d'], 'between 1s and 30d'],
    [['--roles', 'sre', '--secret', 'short'], 'at least 32 characters'],
    [['--roles', 'developer', '--claim', 'roles=vp_engineering'], '--claim roles is set by the other options'],
    [['--roles', 'developer', '--claim', 'actor'], '--claim actor must be name=value'],
  ])('refuses %j with exit 2 and the reason', async (args, reason) => {
    const { code, stdout, stderr } = await gatehouse(['token', '--sub', 'ana', ...args]);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stdout).toBe('');
    expect(stderr).toContain(reason);
  });
});
