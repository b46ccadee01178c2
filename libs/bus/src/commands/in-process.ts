import { DuplicateHandlerError, CommandTimeoutError, NoResponderError } from '../errors.js';
import { DEFAULT_SUBJECT_PREFIX, commandSubject } from '../subjects.js';
import { assertPayloadDepth, assertPayloadSize } from './payload-limits.js';
import { replyError, unwrapReply } from './reply.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, type CommandBus, type CommandHandler, type SendOptions } from './types.js';

export interface InProcessCommandBusOptions {
  /** Only used to name subjects in errors, so messages match the NATS bus. @defaultValue DEFAULT_SUBJECT_PREFIX */
  subjectPrefix?: string;
  /** @defaultValue DEFAULT_COMMAND_TIMEOUT_MS (5000) */
  defaultTimeoutMs?: number;
}

/**
 * Command bus for the embedded single-process mode. Payloads and replies go
 * through a JSON round trip, as on NATS, so a handler that returns a Date or a
 * class instance behaves the same in both modes, and errors become
 * `CommandFailedError` exactly as they do remotely.
 */
export function createInProcessCommandBus({
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  defaultTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
}: InProcessCommandBusOptions = {}): CommandBus {
  const handlers = new Map<string, CommandHandler>();

  return {
    async register(context, command, handler) {
      const subject = commandSubject(context, command, subjectPrefix);
      if (handlers.has(subject)) throw new DuplicateHandlerError(subject);
      handlers.set(subject, handler as CommandHandler);
      return async () => {
        if (handlers.get(subject) === handler) handlers.delete(subject);
      };
    },

    async send<Result>(context: string, command: string, payload: unknown, { timeoutMs = defaultTimeoutMs }: SendOptions = {}): Promise<Result> {
      const subject = commandSubject(context, command, subjectPrefix);
      // The limits the NATS bus enforces, so a payload refused distributed is refused embedded too.
      assertPayloadDepth(subject, payload);
      assertPayloadSize(subject, Buffer.byteLength(JSON.stringify(payload) ?? ''));
      const handler = handlers.get(subject);
      if (handler === undefined) throw new NoResponderError(subject);
      const run = (async () => {
        try {
          return { ok: true as const, result: roundTrip(await handler(roundTrip(payload), { context, command, subject })) };
        } catch (error) {
          return replyError(error);
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CommandTimeoutError(subject, timeoutMs)), timeoutMs);
      });
      try {
        return unwrapReply<Result>(subject, await Promise.race([run, timedOut]));
      } finally {
        clearTimeout(timer);
      }
    },

    async close() {
      handlers.clear();
    },
  };
}

function roundTrip<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
