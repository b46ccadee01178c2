/**
 * The command path's client side, isolated from PostgreSQL and the services: one process serves an echo
 * command with the bus's own `register` (queue group, Nest packet format) and sends it, at a steady
 * offered rate (open loop), through
 *
 * - `CommandClient` (what the gateway and the services send with: nats.js `request()` on one multiplexed
 *   reply inbox per connection),
 * - Nest's `ClientProxy` for NATS (what `CommandClient` used before: a fresh inbox subscribed and
 *   unsubscribed around every request, each request an rxjs pipeline), and
 * - the floor: a raw nats.js request to a raw echo subscription (no packet, no decoding).
 *
 * Each is run BUS_BENCH_ROUNDS times, interleaved (A B floor A B floor …), so drift of a shared machine's load hits all of
 * them alike. Reported: round trip p50/p99, and CPU per command of this process (client and server side;
 * the server side is the same code for all three, so the differences are the clients') and of nats-server.
 *
 *   npm run bench:bus     (BUS_BENCH_RATE=500, BUS_BENCH_SECONDS=10, BUS_BENCH_ROUNDS=3)
 */
import { readdir, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { createCommandClient, createNatsCommandBus } from '@gatehouse/bus';
import { natsUrl } from '@gatehouse/testing';
import { benchChangeDraft } from './lib/changeDraft.js';
import { openLoop, summarise, summaryLine, type Summary } from './lib/openLoop.js';

const rate = Number(process.env['BUS_BENCH_RATE'] ?? 500);
const seconds = Number(process.env['BUS_BENCH_SECONDS'] ?? 10);
const rounds = Number(process.env['BUS_BENCH_ROUNDS'] ?? 3);

/** A payload of the size of a change request command. */
const payload = {
  commandId: randomUUID(),
  actor: 'ana',
  correlationId: randomUUID(),
  ...benchChangeDraft('bench change', '2026-11-30T09:00:00Z', randomUUID()),
};

async function natsServerTicks(): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    if ((await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() !== 'nats-server') continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks;
}

interface Result {
  summary: Summary;
  cpuMsPerCommand: number;
  natsServerCpuMsPerCommand: number;
}

async function measure(send: () => Promise<unknown>): Promise<Result> {
  const cpu = process.cpuUsage();
  const nats = await natsServerTicks();
  const run = await openLoop(rate, seconds, async () => void (await send()));
  const used = process.cpuUsage(cpu);
  const natsMs = ((await natsServerTicks()) - nats) * 10;
  const n = Math.max(1, run.latencies.length);
  return {
    summary: summarise(run.latencies, run.errors, run.elapsedMs),
    cpuMsPerCommand: Math.round(((used.user + used.system) / 1000 / n) * 1000) / 1000,
    natsServerCpuMsPerCommand: Math.round((natsMs / n) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  const prefix = `bus${randomUUID().slice(0, 8)}`;
  const servers = natsUrl();
  const server = createNatsCommandBus({ servers, subjectPrefix: prefix });
  await server.register('bench', 'Echo', (data: unknown) => ({ accepted: true, echo: data }));
  const client = createCommandClient({ servers, subjectPrefix: prefix });
  const proxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers, noAsyncTraces: true, maxReconnectAttempts: -1 } });
  await proxy.connect();
  const raw = await connect({ servers, noAsyncTraces: true });
  const rawServer = await connect({ servers, noAsyncTraces: true });
  rawServer.subscribe(`${prefix}.raw`, { callback: (_e, m) => void m.respond(m.data) });
  await rawServer.flush();
  const body = JSON.stringify(payload);
  const subject = `${prefix}.cmd.bench.Echo`;

  const variants: Record<string, () => Promise<unknown>> = {
    'CommandClient (nats.js request)': () => client.send('bench', 'Echo', payload),
    "Nest ClientProxy (before)": () => firstValueFrom(proxy.send(subject, payload).pipe(timeout(5_000))),
    'floor: raw nats.js request/echo': () => raw.request(`${prefix}.raw`, body, { timeout: 5_000 }),
  };
  // Warm-up: JIT, connections, inboxes.
  for (const send of Object.values(variants)) for (let i = 0; i < 300; i++) await send();

  const results: Record<string, Result[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, send] of Object.entries(variants)) (results[name] ??= []).push(await measure(send));
  }
  const os = await import('node:os');
  const lines = [`bench:bus — offered ${rate} commands/s for ${seconds} s per run, ${rounds} runs each, interleaved (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} cores)`];
  const merged: Record<string, { summary: Summary; cpuMsPerCommand: number; natsServerCpuMsPerCommand: number }> = {};
  for (const [name, runs] of Object.entries(results)) {
    for (const [i, r] of runs.entries()) lines.push(`${summaryLine(`${name} #${i + 1}`, r.summary)}  CPU ${r.cpuMsPerCommand} ms/command (this process), nats-server ${r.natsServerCpuMsPerCommand} ms`);
    // The median run by CPU: a shared machine's load inflates some runs, never deflates them.
    merged[name] = [...runs].sort((a, b) => a.cpuMsPerCommand - b.cpuMsPerCommand)[Math.floor(runs.length / 2)]!;
  }
  const lean = merged['CommandClient (nats.js request)']!;
  const nest = merged["Nest ClientProxy (before)"]!;
  const floor = merged['floor: raw nats.js request/echo']!;
  lines.push(
    `  CPU per command (median run of each): CommandClient ${lean.cpuMsPerCommand} ms, Nest ClientProxy ${nest.cpuMsPerCommand} ms, floor ${floor.cpuMsPerCommand} ms; nats-server ${lean.natsServerCpuMsPerCommand} / ${nest.natsServerCpuMsPerCommand} / ${floor.natsServerCpuMsPerCommand} ms`,
    `  p99: CommandClient ${lean.summary.p99} ms, Nest ClientProxy ${nest.summary.p99} ms, floor ${floor.summary.p99} ms`,
    '',
    JSON.stringify({ rate, seconds, results }),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  await client.close();
  await proxy.close();
  await server.close();
  await raw.close();
  await rawServer.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:bus failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
