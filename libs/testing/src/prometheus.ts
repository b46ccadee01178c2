/**
 * A real Prometheus for tests (Debian's `prometheus` package): started on a free loopback port with a
 * config and a storage folder of its own, scraping the targets a test names at a short interval; and a
 * small HTTP workload exposing prom-client request metrics whose error ratio the test controls.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { freePort } from './system/processes.js';

/** `PROMETHEUS_BIN` or /usr/bin/prometheus (Debian's package). */
export function prometheusBinary(): string {
  return process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
}
/** `PROMTOOL_BIN` or /usr/bin/promtool (comes with Debian's prometheus package). */
export function promtoolBinary(): string {
  return process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
}

/**
 * Whether the binary is installed (`.ci/run` installs it; a developer machine may not have it: the suite
 * says how to get it and skips). Under `CI=true` a missing binary fails the run instead.
 */
export function requirePrometheus(): boolean {
  if (existsSync(prometheusBinary())) return true;
  const hint = `${prometheusBinary()} not found: apt-get install -y prometheus (or set PROMETHEUS_BIN)`;
  if (process.env['CI'] === 'true') throw new Error(hint);
  console.warn(`${hint}; skipping the suites that need a real Prometheus`);
  return false;
}

export interface OwnPrometheus {
  readonly url: string;
  readonly port: number;
  /** What Prometheus logged, for a failing test's message. */
  log(): string;
  close(): Promise<void>;
}

export interface OwnPrometheusOptions {
  /** host:port targets scraped as job "workload". */
  targets: string[];
  /** @defaultValue 1 */
  scrapeIntervalSeconds?: number;
}

/** Starts Prometheus and waits until it is ready and has scraped every target once. */
export async function startPrometheus({ targets, scrapeIntervalSeconds = 1 }: OwnPrometheusOptions): Promise<OwnPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${scrapeIntervalSeconds}s`,
    `  evaluation_interval: ${scrapeIntervalSeconds}s`,
    'scrape_configs:',
    '  - job_name: workload',
    `    scrape_interval: ${scrapeIntervalSeconds}s`,
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'prometheus.yml'), config);
  let output = '';
  const child: ChildProcess = spawn(
    prometheusBinary(),
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('Prometheus ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, () => output);
    await waitUntil('Prometheus scraping its targets', async () => {
      const body = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string }> } };
      return body.data.activeTargets.length === targets.length && body.data.activeTargets.every((t) => t.health === 'up');
    }, () => output);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, port, log: () => output, close };
}

async function waitUntil(what: string, ready: () => Promise<boolean>, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- the test workload

export interface TestWorkload {
  /** host:port for Prometheus's scrape config (`/metrics`). */
  readonly target: string;
  /** Share (0..1) of the requests to `version` that fail with a 500 from now on. */
  setErrorRatio(version: string, ratio: number): void;
  /** Requests served so far per version and status code. */
  served(): Record<string, Record<string, number>>;
  close(): Promise<void>;
}

export interface TestWorkloadOptions {
  service: string;
  /** Versions served side by side (stable and canary), each with its starting error ratio. */
  versions: Record<string, number>;
  /** Requests per second sent to each version by the workload's own client loop. @defaultValue 20 */
  requestsPerSecond?: number;
  /** Seconds each request takes to answer (the latency histogram). @defaultValue 0.01 */
  latencySeconds?: number;
}

/**
 * A service as Prometheus sees it: `http_requests_total{service,version,code}` and
 * `http_request_duration_seconds{service,version}` from prom-client, fed by real HTTP requests on loopback
 * (the workload's own bounded client loop). Errors are spread evenly: at ratio r, the request is a 500
 * whenever the running error count is behind r × requests.
 */
export async function startTestWorkload({ service, versions, requestsPerSecond = 20, latencySeconds = 0.01 }: TestWorkloadOptions): Promise<TestWorkload> {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'Requests served, by service, version and status code', labelNames: ['service', 'version', 'code'], registers: [registry] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Request latency', labelNames: ['service', 'version'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10], registers: [registry] });
  const ratios = new Map(Object.entries(versions));
  const counts = new Map<string, { total: number; errors: number }>();
  const served: Record<string, Record<string, number>> = {};

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://workload');
    if (url.pathname === '/metrics') {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
      return;
    }
    const version = url.searchParams.get('version') ?? '';
    if (!ratios.has(version)) {
      res.writeHead(404).end();
      return;
    }
    const count = counts.get(version) ?? { total: 0, errors: 0 };
    count.total += 1;
    const fail = count.errors < ratios.get(version)! * count.total;
    if (fail) count.errors += 1;
    counts.set(version, count);
    const code = fail ? '500' : '200';
    requests.inc({ service, version, code });
    duration.observe({ service, version }, latencySeconds);
    served[version] = { ...served[version], [code]: (served[version]?.[code] ?? 0) + 1 };
    res.writeHead(Number(code)).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  let running = true;
  const loop = setInterval(() => {
    if (!running) return;
    for (const version of ratios.keys()) void fetch(`http://127.0.0.1:${port}/work?version=${encodeURIComponent(version)}`).then((r) => r.arrayBuffer()).catch(() => undefined);
  }, Math.max(1, Math.round(1000 / requestsPerSecond)));

  return {
    target: `127.0.0.1:${port}`,
    setErrorRatio(version, ratio) {
      ratios.set(version, ratio);
      counts.set(version, { total: 0, errors: 0 });
    },
    served: () => structuredClone(served),
    async close() {
      running = false;
      clearInterval(loop);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
