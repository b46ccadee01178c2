/** The real entry point: build policy and cli, then spawn `node apps/cli/dist/main.js` as users do. */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BUILD_TIMEOUT_MS = 120_000;

beforeAll(() => {
  for (const project of ['libs/policy', 'apps/cli']) {
    execFileSync('npm', ['run', 'build'], { cwd: path.join(REPO_ROOT, project), stdio: 'pipe', timeout: BUILD_TIMEOUT_MS });
  }
}, BUILD_TIMEOUT_MS * 2);

it('the built gatehouse binary refuses the Black Friday week change with exit 3', () => {
  const result = spawnSync('node', ['apps/cli/dist/main.js', 'policy', 'evaluate', '--env', 'production', '--at', '2026-11-25T10:30:00Z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(3);
  expect(result.stdout).toContain("production is in blackout 'Black Friday week' until 2026-11-28T00:00Z");
  expect(result.stdout).toContain('next allowed: 2026-12-01T10:00Z');
});
