/** Open-loop load and latency summaries shared by the HTTP benchmarks (bench:e2e, bench:embedded). */
export interface Summary {
  count: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  perSecond: number;
}

export function summarise(samples: number[], errors: number, elapsedMs: number): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { count: samples.length, errors, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? NaN), perSecond: round((samples.length / elapsedMs) * 1000) };
}

export const summaryLine = (name: string, s: Summary): string =>
  `  ${name.padEnd(34)} n=${String(s.count).padStart(5)}  p50 ${String(s.p50).padStart(6)} ms  p90 ${String(s.p90).padStart(6)} ms  p99 ${String(s.p99).padStart(6)} ms  max ${String(s.max).padStart(7)} ms  ${s.perSecond}/s${s.errors ? `  errors ${s.errors}` : ''}`;

/**
 * Runs `operation(i)` at `perSecond` for `durationS` (open loop: each starts on schedule whether or not
 * earlier ones finished) and returns the latencies measured from each operation's scheduled start.
 */
export async function openLoop(perSecond: number, durationS: number, operation: (i: number) => Promise<number | void>): Promise<{ latencies: number[]; extra: number[]; errors: number; elapsedMs: number; firstError?: string }> {
  const total = Math.round(perSecond * durationS);
  const interval = 1000 / perSecond;
  const latencies: number[] = [];
  const extra: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      operation(i).then(
        (value) => {
          latencies.push(performance.now() - due);
          if (typeof value === 'number') extra.push(value);
        },
        (error: unknown) => {
          errors += 1;
          firstError ??= String(error);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { latencies, extra, errors, elapsedMs: performance.now() - started, ...(firstError ? { firstError } : {}) };
}
