/**
 * README's first ten minutes, run as written: its fenced bash blocks, one after another in one shell
 * (variables carry over, as in a person's terminal), against `npm start`'s process started with the
 * environment README's start line gives. Only the host and port differ (a free port, not 8080, on a
 * shared machine) and the JWT secret is the system's (README relies on the development default).
 * The "Using it" blocks for policy questions and the audit log run against the same process, and its
 * OpenAPI document is linted with Redocly's recommended rules.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GatehouseSystem, startEmbeddedGatehouse } from '@gatehouse/testing';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The fenced bash blocks of one README section (from its `## ` heading to the next). */
export function bashBlocksOf(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // No stdin: Debian's bash reads /etc/bash.bashrc when its stdin is a socket.
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
