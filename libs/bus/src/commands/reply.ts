import { z } from 'zod';
import { CommandFailedError } from '../errors.js';

/**
 * What every command handler answers. Errors travel as data, not as transport
 * errors, so a domain error keeps its name, code and facts across NATS.
 * (No top-level `response` key: NestJS would unwrap it.)
 */
export type CommandReply<Result = unknown> = { ok: true; result: Result } | { ok: false; error: RemoteError };

export interface RemoteError {
  /** The thrown error's `name`, e.g. "WrongExpectedVersionError". */
  name: string;
  message: string;
  /** The thrown error's discriminant `code`, when it has one. */
  code?: string;
  /** Facts the error carried (its own enumerable fields). */
  details?: Record<string, unknown>;
  /** Which fields were wrong and why, when the error names them (validation failures). */
  issues?: { field: string; reason: string }[];
}

export const commandReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      name: z.string(),
      message: z.string(),
      code: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
      issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
    }),
  }),
]);

export function replyOk<Result>(result: Result): CommandReply<Result> {
  return { ok: true, result };
}

/**
 * Error → reply: name, message, string `code`, its field `issues` when it has them, and its other
 * own fields as JSON-safe details. Never throws, whatever the error holds.
 */
export function replyError(error: unknown): CommandReply<never> {
  if (!(error instanceof Error)) return { ok: false, error: { name: 'Error', message: String(error) } };
  const { code, ...facts } = Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'stack' && key !== 'message' && key !== 'name'));
  const details = jsonSafe(facts);
  const issues = fieldIssues(facts['issues']);
  return {
    ok: false,
    error: {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(issues !== undefined ? { issues } : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    },
  };
}

function fieldIssues(value: unknown): { field: string; reason: string }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const issues = value.filter((i): i is { field: unknown; reason: unknown } => typeof i === 'object' && i !== null && 'reason' in i);
  return issues.length === value.length ? issues.map((i) => ({ field: String(i.field ?? ''), reason: String(i.reason) })) : undefined;
}

/** Runs a handler and turns its outcome into a reply; never throws. Use it in `@MessagePattern` methods. */
export async function runCommand<Result>(handler: () => Promise<Result> | Result): Promise<CommandReply<Result>> {
  try {
    return replyOk(await handler());
  } catch (error) {
    return replyError(error);
  }
}

/** Reply → result, or {@link CommandFailedError} carrying the remote error's name, code and details. */
export function unwrapReply<Result>(subject: string, reply: unknown): Result {
  const parsed = commandReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new CommandFailedError(subject, 'InvalidReply', 'the handler did not answer with a CommandReply ({ ok, result | error })', reply);
  }
  if (parsed.data.ok) return parsed.data.result as Result;
  const { name, message, code, details, issues } = parsed.data.error;
  throw new CommandFailedError(subject, name, message, { ...details, ...(issues !== undefined ? { issues } : {}), ...(code !== undefined ? { code } : {}) });
}

// bigint (positions, versions) is common in our errors and JSON.stringify throws on it; facts that
// cannot be serialised at all (cycles, absurd nesting) are left out rather than lose the reply.
function jsonSafe(value: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>;
  } catch {
    return {};
  }
}
