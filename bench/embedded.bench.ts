/**
 * The embedded form (`npm start`: one process, PGlite in a fresh data folder, in-process bus),
 * driven over HTTP like bench:e2e but at the embedded target rate.
 *
 * - Memory: RSS of the process idle after start (peak over E2E_EMBEDDED_IDLE_SECONDS, first start
 *   in a new data folder, so initdb included) and its peak under the command load.
 * - Commands at a steady offered rate (open loop), half `POST /api/releases`, half
 *   `POST /api/change-requests` for that release: round trip p50/p99 and throughput.
 * - Floor in the same run at the same rate: an authenticated gateway GET that sends no command.
 * Targets (issue 13): idle ≤ 300 MB RSS, ≤ 400 MB under 50 commands/s with 0 errors.
 *
 *   npm run bench:embedded   (EMBEDDED_BENCH_RATE=50, EMBEDDED_BENCH_SECONDS=30, EMBEDDED_BENCH_IDLE_SECONDS=10)
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { GatehouseClient, startEmbeddedGatehouse } from '@gatehouse/testing';
import { openLoop, summarise, summaryLine } from './lib/openLoop.js';

const TARGET_RATE = 50;
const TARGET_IDLE_RSS_MB = 300;
const TARGET_LOADED_RSS_MB = 400;
const START_AT = '2026-11-30T09:00:00Z';

const rate = Number(process.env['EMBEDDED_BENCH_RATE'] ?? TARGET_RATE);
const seconds = Number(process.env['EMBEDDED_BENCH_SECONDS'] ?? 30);
const idleSeconds = Number(process.env['EMBEDDED_BENCH_IDLE_SECONDS'] ?? 10);

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** Peak RSS of `pid` while `work` runs, sampled every 200 ms. */
async function peakRssDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peakMb = await rssMb(pid);
  const timer = setInterval(() => void rssMb(pid).then((mb) => (peakMb = Math.max(peakMb, mb))), 200);
  try {
    const result = await work();
    return { result, peakMb: Math.max(peakMb, await rssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  process.stdout.write('bench:embedded — starting npm start\'s process (PGlite in a new data folder) …\n');
  const startedAt = performance.now();
  const system = await startEmbeddedGatehouse({ startAt: START_AT, logLevel: 'warn' });
  const startSeconds = Math.round((performance.now() - startedAt) / 100) / 10;
  const pid = system.process('gatehouse').pid;
  if (pid === undefined) throw new Error('the gatehouse process has no pid');
  try {
    const client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    const idle = await peakRssDuring(pid, () => new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000)));
    const token = await client.token('ana');
    const auditor = await client.token('aud');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const run = `r${randomUUID().slice(0, 6)}`;
    const releaseIds: string[] = [];
    const createRelease = async (i: number): Promise<string> => {
      const response = await fetch(`${system.url}/api/releases`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ service: `bench-${run}-${i}`, version: '1.0.0', type: 'major', title: `Bench release ${i}`, changes: [{ kind: 'feature', description: 'benchmark' }] }),
      });
      const body = (await response.json()) as { releaseId?: string };
      if (response.status !== 201 || body.releaseId === undefined) throw new Error(`createRelease → ${response.status} ${JSON.stringify(body)}`);
      return body.releaseId;
    };
    const submitChange = async (i: number): Promise<void> => {
      const response = await fetch(`${system.url}/api/change-requests`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          kind: 'normal', title: `bench change ${i}`, description: 'benchmark', type: 'enhancement', priority: 'low', impact: 'low', risk: 'low',
          environments: ['development'], schedule: { planned: START_AT, duration: 30 }, implementationPlan: 'deploy', rollbackPlan: 'roll back',
          testingPlan: 'unit tests', releaseId: releaseIds[i],
        }),
      });
      if (response.status !== 201) throw new Error(`submitChange → ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };

    const floor = await openLoop(rate, Math.min(seconds, 15), async () => {
      const response = await fetch(`${system.url}/api/admin/clock`, { headers: { authorization: `Bearer ${auditor}` } });
      if (response.status !== 200) throw new Error(`GET /api/admin/clock → ${response.status}`);
      await response.arrayBuffer();
    });
    // Warm-up: JIT and the services' first reads.
    for (let i = 0; i < 20; i++) {
      releaseIds[i] = await createRelease(i);
      await submitChange(i);
    }
    const base = 20;
    const loaded = await peakRssDuring(pid, () =>
      openLoop(rate, seconds, async (k) => {
        const i = base + Math.floor(k / 2);
        if (k % 2 === 0) {
          releaseIds[i] = await createRelease(i);
        } else {
          while (releaseIds[i] === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
          await submitChange(i);
        }
      }),
    );
    const settledMb = await rssMb(pid);
    const commands = summarise(loaded.result.latencies, loaded.result.errors, loaded.result.elapsedMs);
    const floorSummary = summarise(floor.latencies, floor.errors, floor.elapsedMs);
    const met = {
      idleRss: idle.peakMb <= TARGET_IDLE_RSS_MB,
      loadedRss: loaded.peakMb <= TARGET_LOADED_RSS_MB,
      throughput: commands.perSecond >= rate * 0.98 && commands.errors === 0,
    };
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    process.stdout.write(
      [
        '',
        `bench:embedded — offered ${rate} commands/s for ${seconds} s (load average ${load}); started in ${startSeconds} s`,
        summaryLine('commands (releases + change requests)', commands),
        summaryLine('floor: gateway GET (no command)', floorSummary),
        `  command p99 / floor p99: ${(commands.p99 / floorSummary.p99).toFixed(1)}×`,
        `  RSS: idle peak ${idle.peakMb} MB (target ≤ ${TARGET_IDLE_RSS_MB} ${met.idleRss ? 'met' : 'MISSED'}), under load peak ${loaded.peakMb} MB (target ≤ ${TARGET_LOADED_RSS_MB} ${met.loadedRss ? 'met' : 'MISSED'}), after ${settledMb} MB`,
        `  throughput ${commands.perSecond}/s with ${commands.errors} errors (target ${rate}/s, 0 errors: ${met.throughput ? 'met' : 'MISSED'})${loaded.result.firstError ? `; first error: ${loaded.result.firstError}` : ''}`,
        '',
        JSON.stringify({ rate, seconds, startSeconds, loadAverage: load, idleRssMb: idle.peakMb, loadedPeakRssMb: loaded.peakMb, settledRssMb: settledMb, commands, floor: floorSummary, met }),
        '',
      ].join('\n'),
    );
  } finally {
    await system.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:embedded failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
