/**
 * Projections read model: how fast events fold in, and how long `changeRequests` queries take, as the log
 * grows — next to a baseline measured in the same run on the same events and queries: the previous,
 * immutable read model and query (bench/lib/projections-baseline.ts, a verbatim copy).
 *
 *   npm run bench:projections     (builds, compiles bench/ with swc, runs this file)
 * or, with apps and libs already built:
 *   npx swc bench -d bench/dist --strip-leading-paths --config-file .swcrc --ignore 'bench/dist/**' && node bench/dist/projections.bench.js
 *
 * The baseline folds the log only up to PROJECTIONS_BENCH_BASELINE_FOLD (10000 changes, about 40,000 events): each
 * of its events copies every record it touches, so its rate falls with the log's length and the whole 200,000
 * events would take over an hour. At checkpoints past that, its queries run on a baseline-shaped copy of the
 * current model's state (the same state the fold would have produced; its fold figure is then blank).
 * Set PROJECTIONS_BENCH_BASELINE_FOLD=50000 to fold it all.
 *
 * Env: PROJECTIONS_BENCH_CHECKPOINTS (10000,50000: change requests at which queries are timed; the last is the
 * log's size, about 4 events per change), PROJECTIONS_BENCH_QUERIES (1000 per query and checkpoint),
 * PROJECTIONS_BENCH_BASELINE_QUERIES (20: the old query takes a fraction of a second at these sizes),
 * PROJECTIONS_BENCH_BASELINE_FOLD (10000). The machine is shared and noisy: the ratios are the stable part.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { ProjectionQueryResult } from '@gatehouse/contracts';
import type { StoredEvent } from '@gatehouse/eventstore';
import { evolveReadModel, initialReadModel, queryReadModel, type ReadModel, type ReadModelQuery } from '@gatehouse/projections';
import * as baseline from './lib/projections-baseline.js';

export interface ProjectionsBenchOptions {
  /** Change requests in the model when queries are timed, ascending; the log ends at the last. @defaultValue [10000, 50000] */
  checkpoints?: number[];
  /** Timed runs of each query at each checkpoint, new implementation. @defaultValue 1000 */
  queries?: number;
  /** Timed runs of each query at each checkpoint, baseline. @defaultValue 20 */
  baselineQueries?: number;
  /** Distinct services the changes ship. @defaultValue 200 */
  services?: number;
  /** Changes up to which the baseline folds the log (a checkpoint). @defaultValue the first checkpoint */
  baselineFold?: number;
}

interface Implementation {
  name: string;
  fold(event: StoredEvent): void;
  /** The views of the model (a change's history is read from the log, not from either model). */
  query(query: ReadModelQuery): ProjectionQueryResult;
}

interface Latency {
  runs: number;
  p50Ms: number;
  p99Ms: number;
}
interface Checkpoint {
  changeRequests: number;
  events: number;
  /** Fold rate over the events since the previous checkpoint; null when the state was not folded by this implementation. */
  segmentEventsPerSecond: number | null;
  serviceLimit1: Latency;
  unfilteredLimit50: Latency;
}
interface ImplementationResult {
  name: string;
  events: number;
  foldSeconds: number;
  eventsPerSecond: number;
  checkpoints: Checkpoint[];
}
export interface ProjectionsBenchResult {
  events: number;
  changeRequests: number;
  services: number;
  current: ImplementationResult;
  baseline: ImplementationResult;
  /** Both implementations gave the same items to every timed query's first run. */
  answersIdentical: boolean;
}

const ENVIRONMENTS = ['development', 'staging', 'production'];
const START = Date.parse('2026-11-02T08:00:00.000Z');
/** One step (a change submitted, others moving on) every 5 ms: 200 commands/s. */
const STEP_MS = 5;
/** Pipeline distances: a change is approved 5 steps after it is submitted, booked after 10, deployed after 40. */
const APPROVED_AFTER = 5;
const BOOKED_AFTER = 10;
const DEPLOYED_AFTER = 40;
/** One change in DEPLOYED_EVERY is deployed (started, then succeeded four steps later). */
const DEPLOYED_EVERY = 4;

/**
 * A synthetic log, about four events per change: a release for every two changes, each change submitted,
 * approved and booked, one in four deployed. Events of one step share their recordedAt, as events written
 * within a millisecond do.
 */
export function* syntheticLog(changes: number, services: number): Generator<StoredEvent & { newChange: boolean }> {
  let position = 0n;
  const event = (step: number, streamId: string, type: string, data: Record<string, unknown>, newChange = false) => {
    position += 1n;
    return { id: `e${position}`, type, streamId, streamVersion: 0n, globalPosition: position, recordedAt: new Date(START + step * STEP_MS), data, metadata: { actor: 'bench' }, hash: '', previousHash: '', newChange };
  };
  const release = (i: number) => {
    const releaseId = `rel-${Math.floor(i / 2)}`;
    return { releaseId, service: `svc-${Math.floor(i / 2) % services}`, version: `1.${Math.floor(i / 2)}.0` };
  };
  const booking = (i: number) => ({ changeRequestId: `cr-${i}`, ...release(i), environment: ENVIRONMENTS[i % ENVIRONMENTS.length]!, changeType: 'normal', strategy: 'rolling' });
  const at = (step: number) => new Date(START + step * STEP_MS).toISOString();
  for (let step = 0; step < changes + DEPLOYED_AFTER + DEPLOYED_EVERY; step += 1) {
    const booked = step - BOOKED_AFTER;
    if (booked >= 0 && booked < changes) {
      yield event(step, `schedule-cr-${booked}`, 'DeploymentScheduled', { ...booking(booked), scheduledFor: at(step + 60_000), windowId: null, policyVersion: 'sha256:bench' });
    }
    const deployed = step - DEPLOYED_AFTER;
    if (deployed >= 0 && deployed < changes && deployed % DEPLOYED_EVERY === 0) {
      const { releaseId: _r, changeType: _c, ...ids } = booking(deployed);
      yield event(step, `deployment-cr-${deployed}`, 'DeploymentStarted', { deploymentId: `dep-${deployed}`, ...ids, steps: [{ index: 0, name: 'all', trafficPercent: 100 }], startedAt: at(step) });
    }
    const succeeded = deployed - DEPLOYED_EVERY;
    if (succeeded >= 0 && succeeded < changes && succeeded % DEPLOYED_EVERY === 0) {
      const { releaseId: _r, changeType: _c, strategy: _s, ...ids } = booking(succeeded);
      yield event(step, `deployment-cr-${succeeded}`, 'DeploymentSucceeded', { deploymentId: `dep-${succeeded}`, ...ids, completedAt: at(step) });
    }
    const approved = step - APPROVED_AFTER;
    if (approved >= 0 && approved < changes) {
      yield event(step, `changeRequest-cr-${approved}`, 'ChangeRequestApproved', { changeRequestId: `cr-${approved}`, approvalId: `cr-${approved}`, approvedAt: at(step) });
    }
    if (step < changes) {
      const { releaseId, service, version } = release(step);
      if (step % 2 === 0) yield event(step, `release-${releaseId}`, 'ReleasePlanned', { releaseId, service, version, previousVersion: null });
      const draft = { title: `${service} ${version}`, environments: [ENVIRONMENTS[step % ENVIRONMENTS.length]!], releaseId, author: 'bench' };
      yield event(step, `changeRequest-cr-${step}`, 'ChangeRequestSubmitted', { changeRequestId: `cr-${step}`, kind: 'normal', draft, riskAssessment: { level: 'low', score: 12 }, submittedAt: at(step) }, true);
    }
  }
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { runs: samples.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}
const round = (ms: number): number => Number(ms.toPrecision(3));

function timeQueries(impl: Implementation, queries: (run: number) => ReadModelQuery, runs: number, firstAnswers: unknown[]): Latency {
  const samples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const query = queries(run);
    const started = performance.now();
    const result = impl.query(query);
    samples.push(performance.now() - started);
    if (run === 0) firstAnswers.push(result.items);
  }
  return latency(samples);
}

function timeCheckpoint(impl: Implementation, runs: number, services: number, answers: unknown[]): Pick<Checkpoint, 'serviceLimit1' | 'unfilteredLimit50'> {
  return {
    serviceLimit1: timeQueries(impl, (run) => ({ view: 'changeRequests', filter: { service: `svc-${(run * 7) % services}`, limit: 1 } }), runs, answers),
    unfilteredLimit50: timeQueries(impl, () => ({ view: 'changeRequests', filter: { limit: 50 } }), runs, answers),
  };
}

/** Folds the log up to the last checkpoint, timing the queries at each; `atCheckpoint` runs after them. */
function runImplementation(
  impl: Implementation,
  log: Array<StoredEvent & { newChange: boolean }>,
  checkpoints: number[],
  runs: number,
  services: number,
  answers: unknown[],
  atCheckpoint: (changes: number) => void = () => {},
): ImplementationResult {
  const results: Checkpoint[] = [];
  let changes = 0;
  let folded = 0;
  let foldMs = 0;
  let segmentStart = { folded: 0, foldMs: 0 };
  let next = 0;
  const checkpoint = () => {
    const segmentSeconds = (foldMs - segmentStart.foldMs) / 1_000;
    results.push({ changeRequests: changes, events: folded, segmentEventsPerSecond: Math.round((folded - segmentStart.folded) / segmentSeconds), ...timeCheckpoint(impl, runs, services, answers) });
    atCheckpoint(changes);
    segmentStart = { folded, foldMs };
    next += 1;
  };
  // Folded in chunks so that the timer's own cost stays out of the figure.
  const CHUNK = 1_000;
  for (let offset = 0; offset < log.length && next < checkpoints.length; ) {
    let end = Math.min(log.length, offset + CHUNK);
    // Stop a chunk at the change that reaches a checkpoint.
    let seen = changes;
    for (let i = offset; i < end; i += 1) {
      if (log[i]!.newChange && ++seen === checkpoints[next]) {
        end = i + 1;
        break;
      }
    }
    const started = performance.now();
    for (let i = offset; i < end; i += 1) impl.fold(log[i]!);
    foldMs += performance.now() - started;
    folded += end - offset;
    changes = seen;
    offset = end;
    if (changes === checkpoints[next]) checkpoint();
  }
  return { name: impl.name, events: folded, foldSeconds: round(foldMs / 1_000), eventsPerSecond: Math.round(folded / (foldMs / 1_000)), checkpoints: results };
}

export function runProjectionsBench(options: ProjectionsBenchOptions = {}): ProjectionsBenchResult {
  const { checkpoints = [10_000, 50_000], queries = 1_000, baselineQueries = 20, services = 200 } = options;
  const { baselineFold = checkpoints[0]! } = options;
  if (!checkpoints.includes(baselineFold)) throw new Error(`the baseline folds up to a checkpoint (${checkpoints.join(', ')}), not ${baselineFold}`);
  const changes = checkpoints.at(-1)!;
  const log = [...syntheticLog(changes, services)];

  const currentModel = initialReadModel();
  const current: Implementation = { name: 'current', fold: (event) => void evolveReadModel(currentModel, event), query: (query) => queryReadModel(currentModel, query) };
  const currentAnswers: unknown[] = [];
  // The state the baseline would reach at the checkpoints it does not fold to, taken while the current model passes them.
  const unfolded = new Map<number, baseline.ReadModel>();
  const currentResult = runImplementation(current, log, checkpoints, queries, services, currentAnswers, (at) => {
    if (at > baselineFold) unfolded.set(at, asBaselineModel(currentModel));
  });

  let baselineModel = baseline.initialReadModel();
  const old: Implementation = { name: 'baseline', fold: (event) => void (baselineModel = baseline.evolveReadModel(baselineModel, event)), query: (query) => baseline.queryReadModel(baselineModel, query) };
  const baselineAnswers: unknown[] = [];
  const baselineResult = runImplementation(old, log, checkpoints.filter((at) => at <= baselineFold), baselineQueries, services, baselineAnswers);
  for (const [at, model] of unfolded) {
    baselineModel = model;
    const events = currentResult.checkpoints.find((c) => c.changeRequests === at)!.events;
    baselineResult.checkpoints.push({ changeRequests: at, events, segmentEventsPerSecond: null, ...timeCheckpoint(old, baselineQueries, services, baselineAnswers) });
  }

  return {
    events: log.length,
    changeRequests: changes,
    services,
    current: currentResult,
    baseline: baselineResult,
    answersIdentical: JSON.stringify(currentAnswers) === JSON.stringify(baselineAnswers),
  };
}

/** The current model's state in the baseline's shape: records in the same key order as its fold builds them. */
function asBaselineModel(model: ReadModel): baseline.ReadModel {
  return {
    position: model.position,
    changeRequests: Object.fromEntries([...model.changeRequests.values()].map((c) => [c.changeRequestId, { state: c.state, updatedAt: c.updatedAt }])),
    approvals: Object.fromEntries([...model.approvals].map(([id, approval]) => [id, approval.state])),
    releases: Object.fromEntries(model.releases),
    schedule: Object.fromEntries([...model.schedule].map(([id, booking]) => [id, booking.view])),
    versions: Object.fromEntries(model.versions),
    activeDeployments: Object.fromEntries(model.activeDeployments),
    // The baseline kept each change's history in its model; the current one reads it from the log, and no timed query reads it.
    history: {},
  };
}

/** Human-readable summary of a result. */
export function formatProjectionsBench(result: ProjectionsBenchResult): string {
  const lines: string[] = [];
  const row = (cells: (string | number)[]): void => void lines.push(cells.map((c, i) => String(c).padEnd(i === 0 ? 46 : 16)).join(''));
  const ratio = (old: number, now: number): string => `${(old / now).toFixed(old / now >= 10 ? 0 : 1)}x`;
  row(['measure', 'current', 'baseline', 'speed-up']);
  row([`fold events (events/s over the events folded)`, result.current.eventsPerSecond, result.baseline.eventsPerSecond, ratio(result.current.eventsPerSecond, result.baseline.eventsPerSecond)]);
  row([`  events folded`, result.current.events, result.baseline.events, '']);
  result.current.checkpoints.forEach((now, index) => {
    const old = result.baseline.checkpoints[index]!;
    const at = `at ${now.changeRequests} changes`;
    const oldRate = old.segmentEventsPerSecond;
    row([`  fold rate up to ${now.changeRequests} changes (ev/s)`, now.segmentEventsPerSecond ?? '-', oldRate ?? 'not folded', oldRate === null || now.segmentEventsPerSecond === null ? '' : ratio(now.segmentEventsPerSecond, oldRate)]);
    row([`service=x&limit=1 p50 ms, ${at}`, now.serviceLimit1.p50Ms, old.serviceLimit1.p50Ms, ratio(old.serviceLimit1.p50Ms, now.serviceLimit1.p50Ms)]);
    row([`service=x&limit=1 p99 ms, ${at}`, now.serviceLimit1.p99Ms, old.serviceLimit1.p99Ms, ratio(old.serviceLimit1.p99Ms, now.serviceLimit1.p99Ms)]);
    row([`limit=50 p50 ms, ${at}`, now.unfilteredLimit50.p50Ms, old.unfilteredLimit50.p50Ms, ratio(old.unfilteredLimit50.p50Ms, now.unfilteredLimit50.p50Ms)]);
    row([`limit=50 p99 ms, ${at}`, now.unfilteredLimit50.p99Ms, old.unfilteredLimit50.p99Ms, ratio(old.unfilteredLimit50.p99Ms, now.unfilteredLimit50.p99Ms)]);
  });
  const runs = (r: ImplementationResult) => r.checkpoints[0]?.serviceLimit1.runs ?? 0;
  lines.push(
    '',
    `a log of ${result.events} events, ${result.changeRequests} change requests over ${result.services} services; ${runs(result.current)} timed runs per query (baseline ${runs(result.baseline)}, so its p99 is close to its maximum)`,
    ...(result.baseline.checkpoints.some((c) => c.segmentEventsPerSecond === null) ? ["baseline queries at checkpoints marked 'not folded' ran on a baseline-shaped copy of the current model's state there"] : []),
    `answers identical to the baseline's: ${result.answersIdentical ? 'yes' : 'NO'}; load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const number = (name: string): number | undefined => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  const checkpoints = process.env.PROJECTIONS_BENCH_CHECKPOINTS?.split(',').map(Number);
  const result = runProjectionsBench({
    ...(checkpoints === undefined ? {} : { checkpoints }),
    ...(number('PROJECTIONS_BENCH_QUERIES') === undefined ? {} : { queries: number('PROJECTIONS_BENCH_QUERIES') }),
    ...(number('PROJECTIONS_BENCH_BASELINE_QUERIES') === undefined ? {} : { baselineQueries: number('PROJECTIONS_BENCH_BASELINE_QUERIES') }),
    ...(number('PROJECTIONS_BENCH_BASELINE_FOLD') === undefined ? {} : { baselineFold: number('PROJECTIONS_BENCH_BASELINE_FOLD') }),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${formatProjectionsBench(result)}\n`);
}
