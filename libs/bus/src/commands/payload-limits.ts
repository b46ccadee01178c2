/**
 * Limits every command payload must respect, checked by the sender before it serialises and by
 * the server before a handler sees the payload. Deep nesting is the one JSON shape that makes
 * recursive code (serialisers, validators, loggers) overflow the stack; size is NATS's own
 * `max_payload` (1 MiB by default) with room for the packet around the data.
 */
import { BusError } from '../errors.js';

/** Deepest nesting of objects and arrays a command payload may have (the payload itself is level 1). */
export const MAX_COMMAND_PAYLOAD_DEPTH = 32;
/** Largest serialised command payload, in bytes. */
export const MAX_COMMAND_PAYLOAD_BYTES = 512 * 1024;

/** One reason a payload was refused, naming the field (dotted path; empty for the whole payload). */
export interface PayloadIssue {
  field: string;
  reason: string;
}

export type PayloadLimit = 'depth' | 'size' | 'json' | 'shape';

/** A command payload (or the request carrying it) broke a limit or is not a command request at all. */
export class InvalidCommandPayloadError extends BusError {
  readonly code = 'INVALID_COMMAND_PAYLOAD' as const;
  constructor(
    readonly subject: string,
    /** Which rule was broken: too deep, too large, not JSON, not a command request. */
    readonly limit: PayloadLimit,
    readonly issues: PayloadIssue[],
  ) {
    super(`Invalid command payload for '${subject}': ${issues.map((i) => (i.field ? `${i.field}: ${i.reason}` : i.reason)).join('; ')}`);
  }
}

/**
 * The dotted path of the first value nested deeper than `maxDepth`, or undefined. Iterative, so a
 * hostile payload cannot overflow the stack of the check meant to stop it.
 */
export function pathBeyondDepth(value: unknown, maxDepth: number = MAX_COMMAND_PAYLOAD_DEPTH): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 1, path: '' }];
  while (stack.length > 0) {
    const { value: current, depth, path } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > maxDepth) return path;
    const entries: Array<[string, unknown]> = Array.isArray(current) ? current.map((v, i) => [String(i), v]) : Object.entries(current);
    for (const [key, child] of entries) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1, path: path === '' ? key : `${path}.${key}` });
    }
  }
  return undefined;
}

/** Shortens a path for messages: the first tokens and how many more there are. */
export function abbreviatePath(path: string, keep = 4): string {
  const tokens = path.split('.');
  return tokens.length <= keep ? path : `${tokens.slice(0, keep).join('.')}… (${tokens.length} levels)`;
}

/** Throws {@link InvalidCommandPayloadError} when `payload` is nested too deep; names the outermost field. */
export function assertPayloadDepth(subject: string, payload: unknown, maxDepth: number = MAX_COMMAND_PAYLOAD_DEPTH): void {
  const path = pathBeyondDepth(payload, maxDepth);
  if (path === undefined) return;
  throw new InvalidCommandPayloadError(subject, 'depth', [{ field: path.split('.')[0] ?? '', reason: `nested deeper than ${maxDepth} levels (at ${abbreviatePath(path)})` }]);
}

/** Throws {@link InvalidCommandPayloadError} when the serialised payload is larger than `maxBytes`. */
export function assertPayloadSize(subject: string, bytes: number, maxBytes: number = MAX_COMMAND_PAYLOAD_BYTES): void {
  if (bytes <= maxBytes) return;
  throw new InvalidCommandPayloadError(subject, 'size', [{ field: '', reason: `is ${bytes} bytes, more than the ${maxBytes} a command may carry` }]);
}
