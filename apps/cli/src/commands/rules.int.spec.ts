import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { EXIT_BAD_INPUT, EXIT_OK, run, type CliIo } from '../index.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const PROMTOOL = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const exec = promisify(execFile);

async function gatehouse(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd: REPO_ROOT, now: () => new Date('2026-12-01T10:00:00Z') };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('gatehouse rules export', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes rules that promtool accepts: Gatehouse's health and every environment's triggers and alert rules", async () => {
    const file = path.join(dir, 'gatehouse.rules.yml');
    const { code, stderr } = await gatehouse(['rules', 'export', '-o', file]);
    expect(code).toBe(EXIT_OK);
    expect(stderr).toMatch(/^wrote \d+ rules in \d+ groups to /);
    const { stdout } = await exec(PROMTOOL, ['check', 'rules', file]);
    expect(stdout).toContain('SUCCESS');

    const { groups } = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels: Record<string, string> }> }> };
    expect(groups.map((g) => g.name)).toEqual(['gatehouse-health', 'gatehouse-production', 'gatehouse-staging']);
    const health = groups[0]!.rules.map((r) => r.expr).join('\n');
    for (const metric of ['gatehouse_relay_lag_seconds', 'gatehouse_consumer_delivery_delay_seconds_bucket', 'gatehouse_consumer_handler_failures_total{kind="poison"}', 'gatehouse_command_handler_duration_seconds_count{outcome="error"}']) {
      expect(health).toContain(metric);
    }
    const production = groups[1]!.rules;
    // The seeds' triggers: error rate > 10% for 5 min (rollback), p95 > 5 s for 3 min (alert), production > 1% (rollback).
    expect(production.find((r) => r.labels['gatehouse_trigger'] === 'error-rate-above-10-percent')).toMatchObject({
      expr: 'sum by (service) (rate(http_requests_total{code=~"5.."}[60s])) / sum by (service) (rate(http_requests_total{}[60s])) > 0.1',
      for: '300s',
      labels: { severity: 'critical', environment: 'production', gatehouse_action: 'rollback' },
    });
    expect(production.find((r) => r.labels['gatehouse_trigger'] === 'slow-p95-response')).toMatchObject({ for: '180s', labels: { severity: 'warning', gatehouse_action: 'alert' } });
    expect(production.find((r) => r.labels['gatehouse_rule'] === 'high-error-rate')).toMatchObject({ labels: { severity: 'critical', channels: 'slack,email,sms' } });
  });

  it('deploy/prometheus/gatehouse.rules.yml (loaded by docker-compose\'s Prometheus) is the current export and passes promtool', async () => {
    const { code, stdout } = await gatehouse(['rules', 'export']);
    expect(code).toBe(EXIT_OK);
    const committed = path.join(REPO_ROOT, 'deploy/prometheus/gatehouse.rules.yml');
    expect(readFileSync(committed, 'utf8')).toBe(stdout);
    expect((await exec(PROMTOOL, ['check', 'rules', committed])).stdout).toContain('SUCCESS');
  });

  it('--env narrows to one environment; an unknown one is refused with exit 2 naming it', async () => {
    const one = await gatehouse(['rules', 'export', '--env', 'staging']);
    expect(one.code).toBe(EXIT_OK);
    expect((parse(one.stdout) as { groups: Array<{ name: string }> }).groups.map((g) => g.name)).toEqual(['gatehouse-health', 'gatehouse-staging']);
    const bad = await gatehouse(['rules', 'export', '--env', 'prod']);
    expect(bad.code).toBe(EXIT_BAD_INPUT);
    expect(bad.stderr).toContain('--env: unknown environment prod');
    expect(bad.stdout).toBe('');
  });
});
