/**
 * How logs are written: JSON lines (pino's own format) for machines, or one short readable line per
 * entry for a person at a terminal. LOG_FORMAT=json|pretty decides; unset, a terminal gets pretty.
 */
import { Writable } from 'node:stream';

export type LogFormat = 'json' | 'pretty';

/** Nest's start-up chatter (one line per module and per route): shown only at debug level. */
export const NEST_STARTUP_CONTEXTS: ReadonlySet<string> = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader', 'NestFactory', 'NestApplication']);

export function logFormatOf(env: Readonly<Record<string, string | undefined>>, isTty: boolean): LogFormat {
  const chosen = env['LOG_FORMAT']?.trim().toLowerCase();
  if (chosen === 'json' || chosen === 'pretty') return chosen;
  return isTty ? 'pretty' : 'json';
}

const LEVELS: Record<number, { label: string; color: number }> = {
  10: { label: 'TRACE', color: 90 },
  20: { label: 'DEBUG', color: 36 },
  30: { label: 'INFO ', color: 32 },
  40: { label: 'WARN ', color: 33 },
  50: { label: 'ERROR', color: 31 },
  60: { label: 'FATAL', color: 35 },
};
/** Fields shown in the line's head, or too noisy to repeat at its end. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'service', 'context', 'msg', 'req', 'res', 'responseTime', 'err', 'correlationId', 'x-correlation-id']);

/** One JSON log line as a person reads it: `10:30:00.123 INFO  gateway [Context] message key=value`. */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = LEVELS[Number(entry['level'])] ?? { label: String(entry['level']).padEnd(5), color: 0 };
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 23) : '';
  const req = entry['req'] as { method?: string; url?: string } | undefined;
  const res = entry['res'] as { statusCode?: number } | undefined;
  const err = entry['err'] as { message?: string; stack?: string } | undefined;
  const http = req?.method !== undefined ? `${req.method} ${req.url ?? ''}${res?.statusCode !== undefined ? ` → ${res.statusCode}` : ''}${typeof entry['responseTime'] === 'number' ? ` ${entry['responseTime']} ms` : ''}` : '';
  const rest = Object.entries(entry)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const parts = [
    paint(90, time),
    paint(level.color, level.label),
    typeof entry['service'] === 'string' ? paint(90, entry['service']) : '',
    typeof entry['context'] === 'string' ? `[${entry['context']}]` : '',
    typeof entry['msg'] === 'string' ? entry['msg'] : '',
    http,
    ...rest,
    err?.message !== undefined ? paint(31, err.stack ?? err.message) : '',
  ];
  return parts.filter((p) => p !== '').join(' ');
}

/** A destination for pino that writes readable lines to `out`. */
export function prettyLogStream(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Writable {
  const color = out.isTTY === true && process.env['NO_COLOR'] === undefined;
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') out.write(`${prettyLine(line, color)}\n`);
      callback();
    },
  });
}

/** pino `hooks.logMethod`: Nest's start-up chatter at info goes out only when debug is on. */
export function quietNestStartup(this: { isLevelEnabled(level: string): boolean }, args: unknown[], method: (...args: unknown[]) => void, level: number): void {
  const first = args[0] as { context?: unknown } | undefined;
  const noise = level === 30 && typeof first === 'object' && first !== null && typeof first.context === 'string' && NEST_STARTUP_CONTEXTS.has(first.context);
  if (noise && !this.isLevelEnabled('debug')) return;
  method.apply(this, args);
}
