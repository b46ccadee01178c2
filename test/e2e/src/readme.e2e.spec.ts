/**
 * README's first ten minutes, run as written: its fenced bash blocks, one after another in one shell
 * (variables carry over, as in a person's terminal), against `npm start`'s process started with the
 * environment README's start line gives. Only the host and port differ (a free port, not 8080, on a
 * shared machine) and the JWT secret is the system's (README relies on the development default).
 * The "Using it" blocks for policy questions and the audit log run against the same process, and its
 * OpenAPI document is linted with Redocly's recommended rules. The production quick start runs as
 * written too (secrets, NATS with per-process users, eight processes in production mode), on free
 * ports, its own nats-server and a schema of the test database.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type GatehouseSystem, isolatedSchema, NATS_SERVER_BINARY, requirePostgres, startEmbeddedGatehouse } from '@gatehouse/testing';


const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The fenced bash blocks of one README section (from its `## ` heading to the next). */
export function bashBlocksOf(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The fenced bash blocks of one `### ` subsection (to the next heading of any level). */
function subsectionBlocksOf(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n### ${heading}`);
  if (start < 0) throw new Error(`README has no subsection "${heading}"`);
  const end = readme.slice(start + 1).search(/\n##/);
  const section = readme.slice(start, end < 0 ? undefined : start + 1 + end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function runBash(script: string, env: Record<string, string>, cwd: string = REPO_ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // No stdin: Debian's bash reads /etc/bash.bashrc when its stdin is a socket.
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('README', () => {
  let system: GatehouseSystem;
  let home: string;
  let blocks: string[];
  let usingIt: string[];

  beforeAll(async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    blocks = bashBlocksOf(readme, 'Your first ten minutes');
    usingIt = bashBlocksOf(readme, 'Using it');
    const startLine = blocks[0]!.split('\n').find((line) => line.includes('npm start'));
    const startAt = /GATEHOUSE_CLOCK=(\S+)/.exec(startLine ?? '')?.[1];
    expect(startLine).toMatch(/GATEHOUSE_CLOCK_CONTROL=on/);
    system = await startEmbeddedGatehouse({ ...(startAt === undefined ? {} : { startAt }) });
    home = await mkdtemp(path.join(tmpdir(), 'gatehouse-readme-'));
  }, 180_000);

  afterAll(async () => {
    await system?.close();
    if (home !== undefined) await rm(home, { recursive: true, force: true });
  });

  it('walks one change from release to staging with the commands of "Your first ten minutes", as written', async () => {
    const hostPort = new URL(system.url).host;
    const script = blocks
      .slice(1)
      .join('\n')
      .replace(/(127\.0\.0\.1|localhost):8080/g, hostPort);
    const env = {
      PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
      HOME: home,
      GATEHOUSE_JWT_SECRET: system.jwtSecret,
    };
    const result = await runBash(script, env);
    if (result.code !== 0) throw new Error(`README's quick start failed (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
    expect(result.stdout).toMatch(/logged in to http:\/\/[^ ]+ as ana \(developer\)/);
    expect(result.stdout).toMatch(/deployed to development/);
    expect(result.stdout).toContain('refused (exit 3): rui is no tech lead');
    expect(result.stdout).toContain('Booking: booked for 2026-11-30T14:00:00.000Z');
    expect(result.stdout).toMatch(/deployed to staging/);
    expect(result.stdout).toContain('# Release 2.2.0 - PenguinMails (November 30, 2026)\n\n## New Features\n- Advanced campaign scheduling with time zones\n\n## Bug Fixes\n- Unsubscribe links render in Outlook');
    expect(result.stdout).toContain("production is in blackout 'Black Friday week' until 2026-11-28T00:00Z");
    expect(result.stdout).toContain('exit 3: refused');
    // curl: the release list as JSON and the notes as Markdown.
    expect(result.stdout).toMatch(/\{"items":\[\{"releaseId":/);
    expect(result.stdout).toContain('"status":"deployed"');
  }, 240_000);

  it('answers the policy and audit examples of "Using it"', async () => {
    const hostPort = new URL(system.url).host;
    const script = usingIt.slice(0, 2).join('\n').replace(/(127\.0\.0\.1|localhost):8080/g, hostPort);
    const result = await runBash(script, { PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`, HOME: home, GATEHOUSE_JWT_SECRET: system.jwtSecret });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/"error":/);
    expect(result.stdout).toContain('"nextAllowedAt":"2026-12-01T10:00:00.000Z"');
    expect(result.stdout).toMatch(/"policyVersion":"sha256:/);
    expect(result.stdout).toMatch(/"ok":true/);
  }, 60_000);

  it('serves an OpenAPI document where every operation states its security and its 4xx answers, and Redocly’s recommended rules find no error', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is read field by field
    const document: any = await (await fetch(`${system.url}/docs/openapi.json`)).json();
    const operations = Object.entries(document.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>>).flatMap(([route, item]) =>
      Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${route}`, operation })),
    );
    expect(operations.length).toBeGreaterThan(40);
    for (const { name, operation } of operations) {
      expect([name, Array.isArray(operation.security)]).toEqual([name, true]);
      const fourxx = Object.entries(operation.responses).filter(([status]) => /^4\d\d$/.test(status));
      expect([name, fourxx.length > 0]).toEqual([name, true]);
      for (const [status, response] of fourxx) expect([name, status, response.content?.['application/json']?.schema?.$ref]).toEqual([name, status, '#/components/schemas/Error']);
    }
    // Public operations say so; the lifecycle needs the bearer token.
    expect(document.paths['/api/policy/evaluate'].post.security).toEqual([]);
    expect(document.paths['/api/releases'].get.security).toEqual([{ bearer: [] }]);

    const file = path.join(home, 'openapi.json');
    await writeFile(file, JSON.stringify(document));
    const lint = await promisify(execFile)(path.join(REPO_ROOT, 'node_modules/.bin/redocly'), ['lint', '--extends', 'recommended', '--format', 'json', file], { cwd: home, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
    const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{')));
    const errors = (report.problems as { severity: string; ruleId: string; message: string }[]).filter((p) => p.severity === 'error');
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 120_000);
});

describe('README production quick start', () => {
  it('runs as written on this host: secrets, NATS with its per-process users, the relay, six services and the gateway in production mode', async () => {
    const postgres = await requirePostgres();
    if (!postgres.available || !existsSync(NATS_SERVER_BINARY)) throw new Error(`needs PostgreSQL and ${NATS_SERVER_BINARY}`);
    const blocks = subsectionBlocksOf(await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8'), 'Production quick start');
    expect(blocks).toHaveLength(6);
    // A folder that looks like the repository (built apps, deploy/, package.json's scripts), so secrets/ and state/ land outside it.
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-production-'));
    for (const entry of ['package.json', 'node_modules', 'apps', 'libs', 'deploy']) await symlink(path.join(REPO_ROOT, entry), path.join(dir, entry));
    const schema = isolatedSchema('readme_production');
    const ports: number[] = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    const [natsPort, natsMonitor, gatewayPort] = ports as [number, number, number];
    const servicePorts = ports.slice(3);
    const env = { PATH: `${path.dirname(NATS_SERVER_BINARY)}:${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`, HOME: dir };
    let group: number | undefined;
    try {
      // Step 1 builds and creates the database: done by the suite (a schema of the test database stands in); its folders are made as written.
      expect(blocks[0]).toContain('npm ci && npm run build');
      const folders = blocks[0]!.split('\n').find((line) => line.startsWith('mkdir '));
      expect(folders).toBeDefined();
      // Steps 2-5 in one shell, on free ports and the test database; the shell's and every process's output to logs.
      let script = ['exec 2>setup.log', folders!, ...blocks.slice(1, 5)].join('\n');
      script = script.replace('nats-server -c state/nats-server.conf &', `nats-server -c state/nats-server.conf -p ${natsPort} -m ${natsMonitor} > nats.log 2>&1 &`);
      script = script.replace('nats://127.0.0.1:4222', `nats://127.0.0.1:${natsPort}`);
      script = script.replace('postgres://postgres@127.0.0.1:5432/gatehouse', `${postgres.url} GATEHOUSE_DB_SCHEMA=${schema.name}`);
      servicePorts.forEach((port, i) => (script = script.replace(`PORT=${9100 + i} `, `PORT=${port} `)));
      script = script.replace('PORT=8080 ', `PORT=${gatewayPort} `).replace(/ &\n/g, (_, offset: number) => ` > process-${offset}.log 2>&1 &\n`);
      expect(script).not.toMatch(/PORT=(91\d\d|8080) /);
      // Detached: the shell's background jobs form one process group, stopped together at the end.
      const started = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd: dir, env, stdio: 'ignore', detached: true });
      group = started.pid;
      const setup = await new Promise<number | null>((resolve) => started.on('close', resolve));
      if (setup !== 0) throw new Error(`the quick start's steps 1-5 failed (exit ${setup}):\n${await logsOf(dir)}`);

      const ready = async (port: number): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.ok === true;
      const deadline = Date.now() + 150_000;
      while (!(await Promise.all([gatewayPort, ...servicePorts].map(ready))).every(Boolean)) {
        if (Date.now() > deadline) throw new Error(`not every process became ready:\n${await logsOf(dir)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const secrets = await readFile(path.join(dir, 'secrets/gatehouse.env'), 'utf8');
      expect(secrets).toMatch(/^GATEHOUSE_COMMAND_PUBLIC_KEYS=gateway=[^,]+,approvals=[^,]+,deployments=\S+$/m);
      expect(secrets).toMatch(/^GATEHOUSE_NATS_CHANGE_REQUESTS_PASSWORD=\S{20,}$/m);
      const logs = await logsOf(dir);
      // Production mode with real keys: no process fell back to a development key or secret.
      expect(logs).not.toMatch(/development (key|secret)|insecure/i);

      // Step 6 against this gateway: ready, and a pipeline token the gateway accepts.
      const check = await runBash(`set -a; . secrets/gatehouse.env; set +a\n${blocks[5]!.replace('localhost:8080', `127.0.0.1:${gatewayPort}`)}`, env, dir);
      expect(check.code).toBe(0);
      expect(check.stdout).toContain('"eventstore":"ok"');
      const token = check.stdout.trim().split('\n').at(-1)!;
      const releases = await fetch(`http://127.0.0.1:${gatewayPort}/api/releases`, { headers: { authorization: `Bearer ${token}` } });
      expect(releases.status).toBe(200);
      // The OpenID Connect settings of step 5 are the ones the gateway publishes.
      expect(await (await fetch(`http://127.0.0.1:${gatewayPort}/api/auth/config`)).json()).toMatchObject({ oidc: { issuer: 'https://login.example.com/realms/eng', clientId: 'gatehouse-console', rolesClaim: 'groups' } });
    } finally {
      if (group !== undefined) {
        try {
          process.kill(-group, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await schema.drop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

async function logsOf(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.log'));
  return (await Promise.all(files.map(async (f) => `--- ${f}\n${(await readFile(path.join(dir, f), 'utf8')).slice(-2_000)}`))).join('\n');
}
