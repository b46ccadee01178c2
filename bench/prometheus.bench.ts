/**
 * Prometheus query latency per analysis: the queries one evaluation of a production watch runs (every
 * query of production's triggers and alert rules for one canary, query_range over each rule's window at
 * its step, read into samples), against a floor measured in the same run — a bare HTTP GET of
 * Prometheus's /-/ready on the same connection pool (no query, no storage read).
 *
 * A real Prometheus (Debian's package) is started on a free loopback port, scraping the test workload
 * (prom-client, 20 requests/s per version, 2% errors on the canary) every second.
 *
 *   npm run bench:prometheus
 * Env: PROM_BENCH_ANALYSES (200), PROM_BENCH_WARMUP_SECONDS (15: data to query before measuring).
 */
import { pathToFileURL } from 'node:url';
import { watchRulesFor } from '@gatehouse/domain';
import { createPrometheusClient, readWindow, watchQueries } from '@gatehouse/monitoring';
import { loadPolicySet, prometheusPolicyOf } from '@gatehouse/policy';
import { startPrometheus, startTestWorkload } from '@gatehouse/testing';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface PrometheusBenchResult {
  analyses: number;
  queriesPerAnalysis: number;
  floor: { p50Ms: number; p95Ms: number };
  analysis: { p50Ms: number; p95Ms: number; maxMs: number };
  perQuery: { p50Ms: number };
  analysisP50VsFloor: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

export async function runPrometheusBench({ analyses = 200, warmupSeconds = 15 }: { analyses?: number; warmupSeconds?: number } = {}): Promise<PrometheusBenchResult> {
  const dir = path.join(REPO_ROOT, 'deploy/policies');
  const policies = loadPolicySet(readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((name) => ({ name, contents: readFileSync(path.join(dir, name), 'utf8') })));
  const production = policies.environments['production']!;
  const rules = watchRulesFor(production, false, { service: 'checkout', environment: 'production', version: '2.4.0', stableVersion: '2.3.0' });
  const prom = prometheusPolicyOf(production);
  const queries = watchQueries(rules, prom.minPoints);

  const workload = await startTestWorkload({ service: 'checkout', versions: { '2.3.0': 0, '2.4.0': 0.02 } });
  const prometheus = await startPrometheus({ targets: [workload.target], scrapeIntervalSeconds: 1 });
  try {
    await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    const client = createPrometheusClient({ url: prometheus.url });

    const floor: number[] = [];
    for (let i = 0; i < analyses; i++) {
      const started = performance.now();
      const response = await fetch(`${prometheus.url}/-/ready`);
      await response.text();
      if (!response.ok) throw new Error(`/-/ready answered ${response.status}`);
      floor.push(performance.now() - started);
    }

    const perAnalysis: number[] = [];
    const perQuery: number[] = [];
    for (let i = 0; i < analyses; i++) {
      const end = new Date(Math.floor(Date.now() / 1000) * 1000);
      const started = performance.now();
      for (const q of queries) {
        const queryStarted = performance.now();
        const result = await client.queryRange(q.query, { start: new Date(end.getTime() - q.windowSeconds * 1000), end, stepSeconds: q.intervalSeconds });
        readWindow(q.metric, result, prom.minPoints);
        if (!result.ok) throw new Error(`${q.metric}: ${result.problem} ${result.detail}`);
        perQuery.push(performance.now() - queryStarted);
      }
      perAnalysis.push(performance.now() - started);
    }
    floor.sort((a, b) => a - b);
    perAnalysis.sort((a, b) => a - b);
    perQuery.sort((a, b) => a - b);
    return {
      analyses,
      queriesPerAnalysis: queries.length,
      floor: { p50Ms: round(percentile(floor, 50)), p95Ms: round(percentile(floor, 95)) },
      analysis: { p50Ms: round(percentile(perAnalysis, 50)), p95Ms: round(percentile(perAnalysis, 95)), maxMs: round(perAnalysis.at(-1)!) },
      perQuery: { p50Ms: round(percentile(perQuery, 50)) },
      analysisP50VsFloor: round(percentile(perAnalysis, 50) / percentile(floor, 50)),
    };
  } finally {
    await prometheus.close();
    await workload.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runPrometheusBench({
    analyses: Number(process.env['PROM_BENCH_ANALYSES'] ?? 200),
    warmupSeconds: Number(process.env['PROM_BENCH_WARMUP_SECONDS'] ?? 15),
  });
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `Prometheus analysis: p50 ${result.analysis.p50Ms} ms, p95 ${result.analysis.p95Ms} ms for ${result.queriesPerAnalysis} range queries ` +
      `(p50 ${result.perQuery.p50Ms} ms each); floor GET /-/ready p50 ${result.floor.p50Ms} ms, p95 ${result.floor.p95Ms} ms; ` +
      `analysis/floor ${result.analysisP50VsFloor}×`,
  );
  process.exit(0);
}
