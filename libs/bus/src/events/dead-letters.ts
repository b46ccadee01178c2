/**
 * Dead letters an operator can see and redrive. A dead letter is the original message, byte for byte,
 * with headers saying which durable consumer parked it and why (see `consumeEvents`). Redriving hands it
 * back to that consumer only: it is published on `<prefix>.dlq._redrive.<durable>`, which the consumer
 * also reads, and the dead letter is removed. A message that fails again is parked again, with the new reason.
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import type { CommandBus } from '../commands/types.js';
import { DEFAULT_DEAD_LETTER_STREAM_NAME } from '../stream.js';
import { DEFAULT_SUBJECT_PREFIX, DLQ_SEGMENT } from '../subjects.js';
import { DeadLetterHeaders, REDRIVE_TOKEN, redriveSubject } from './consumer.js';

/** Command context of the dead-letter commands (`deadLetters.list|get|redrive`). */
export const DEAD_LETTER_CONTEXT = 'deadLetters';
export const DEFAULT_DEAD_LETTER_PAGE = 100;
const MAX_DEAD_LETTER_PAGE = 1_000;

/** A dead letter as an operator sees it; `id` is its sequence in the dead-letter stream. */
export interface DeadLetterView {
  id: string;
  reason: string | null;
  consumer: string | null;
  eventId: string | null;
  originalSubject: string | null;
  deliveryCount: number | null;
  errorName: string | null;
  error: string | null;
  parkedAt: string;
}

export interface DeadLetterDetail extends DeadLetterView {
  /** The parked message's body (the CloudEvent as it was received; raw text when it is not JSON). */
  payload: unknown;
}

export interface RedriveResult {
  id: string;
  consumer: string;
  eventId: string | null;
  redrivenTo: string;
}

/** There is no dead letter with that id (already redriven, or never parked). */
export class DeadLetterNotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND' as const;
  constructor(readonly id: string) {
    super(`dead letter ${id} does not exist (already redriven?); list them with GET /api/admin/dead-letters`);
  }
}

/** The dead letter names no consumer (parked by something other than a durable consumer): it cannot be redriven. */
export class NotRedrivableError extends Error {
  override readonly name = 'IllegalTransitionError';
  readonly code = 'NOT_REDRIVABLE' as const;
  constructor(readonly id: string) {
    super(`dead letter ${id} names no consumer to redrive it to`);
  }
}

export interface DeadLetterAdminOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** @defaultValue DEFAULT_DEAD_LETTER_STREAM_NAME */
  deadLetterStreamName?: string;
  /** @defaultValue DEFAULT_SUBJECT_PREFIX */
  subjectPrefix?: string;
}

export interface DeadLetterAdmin {
  /** Dead letters oldest first, from `after` (an id) on. */
  list(options?: { after?: number; limit?: number }): Promise<{ deadLetters: DeadLetterView[]; next: string | null }>;
  get(id: number): Promise<DeadLetterDetail>;
  redrive(id: number): Promise<RedriveResult>;
}

export function createDeadLetterAdmin({ js, jsm, deadLetterStreamName = DEFAULT_DEAD_LETTER_STREAM_NAME, subjectPrefix = DEFAULT_SUBJECT_PREFIX }: DeadLetterAdminOptions): DeadLetterAdmin {
  const redrivePrefix = `${subjectPrefix}.${DLQ_SEGMENT}.${REDRIVE_TOKEN}.`;

  async function load(id: number): Promise<StoredMsg> {
    const msg = await jsm.streams.getMessage(deadLetterStreamName, { seq: id }).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return null;
      throw error;
    });
    // A message in flight to its consumer is no dead letter.
    if (msg === null || msg.subject.startsWith(redrivePrefix)) throw new DeadLetterNotFoundError(String(id));
    return msg;
  }

  return {
    async list({ after = 0, limit = DEFAULT_DEAD_LETTER_PAGE } = {}) {
      const page = Math.min(Math.max(1, limit), MAX_DEAD_LETTER_PAGE);
      const info = await jsm.streams.info(deadLetterStreamName);
      const found: DeadLetterView[] = [];
      if (info.state.messages === 0) return { deadLetters: [], next: null };
      for (let seq = Math.max(after + 1, info.state.first_seq); seq <= info.state.last_seq; seq += 1) {
        if (found.length === page) return { deadLetters: found, next: String(seq - 1) };
        const msg = await jsm.streams.getMessage(deadLetterStreamName, { seq }).catch(() => null);
        if (msg === null || msg.subject.startsWith(redrivePrefix)) continue;
        found.push(view(msg));
      }
      return { deadLetters: found, next: null };
    },
    async get(id) {
      const msg = await load(id);
      const text = new TextDecoder().decode(msg.data);
      let payload: unknown = text;
      try {
        payload = JSON.parse(text);
      } catch {
        // not JSON: the raw text is what was received
      }
      return { ...view(msg), payload };
    },
    async redrive(id) {
      const msg = await load(id);
      const consumer = msg.header?.get(DeadLetterHeaders.Consumer);
      if (!consumer) throw new NotRedrivableError(String(id));
      const to = redriveSubject(consumer, subjectPrefix);
      const h = natsHeaders();
      for (const key of Object.values(DeadLetterHeaders)) {
        const value = msg.header?.get(key);
        if (value) h.set(key, value);
      }
      // Deterministic id: a redrive repeated after a crash before the delete is stored once.
      await js.publish(to, msg.data, { headers: h, msgID: `redrive:${deadLetterStreamName}:${id}` });
      await jsm.streams.deleteMessage(deadLetterStreamName, id).catch((error: unknown) => {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound)) throw error;
      });
      const eventId = msg.header?.get(DeadLetterHeaders.EventId) || null;
      return { id: String(id), consumer, eventId, redrivenTo: to };
    },
  };
}

function view(msg: StoredMsg): DeadLetterView {
  const get = (key: string): string | null => msg.header?.get(key) || null;
  const deliveries = get(DeadLetterHeaders.DeliveryCount);
  return {
    id: String(msg.seq),
    reason: get(DeadLetterHeaders.Reason),
    consumer: get(DeadLetterHeaders.Consumer),
    eventId: get(DeadLetterHeaders.EventId),
    originalSubject: get(DeadLetterHeaders.OriginalSubject),
    deliveryCount: deliveries === null ? null : Number(deliveries),
    errorName: get(DeadLetterHeaders.ErrorName),
    error: get(DeadLetterHeaders.ErrorMessage),
    parkedAt: msg.time.toISOString(),
  };
}

const Id = z.coerce.number().int().positive();
const ListPayload = z.object({ after: z.coerce.number().int().nonnegative().optional(), limit: z.coerce.number().int().positive().max(MAX_DEAD_LETTER_PAGE).optional() });

/** Serves `deadLetters.list|get|redrive` on the bus (replicas share them: any holder of the dead-letter stream answers). */
export async function registerDeadLetterCommands(commands: CommandBus, admin: DeadLetterAdmin): Promise<Array<() => Promise<void>>> {
  const idOf = (payload: unknown): number => Id.parse((payload as { id?: unknown } | null)?.id);
  return Promise.all([
    commands.register(DEAD_LETTER_CONTEXT, 'list', (payload: unknown) => admin.list(ListPayload.parse(payload ?? {}))),
    commands.register(DEAD_LETTER_CONTEXT, 'get', (payload: unknown) => admin.get(idOf(payload))),
    commands.register(DEAD_LETTER_CONTEXT, 'redrive', (payload: unknown) => admin.redrive(idOf(payload))),
  ]);
}
