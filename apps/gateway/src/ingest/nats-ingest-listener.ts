import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import {
  abbreviatePath,
  type BusLogger,
  type CommandBus,
  CommandFailedError,
  DEFAULT_SUBJECT_PREFIX,
  deadLetterSubject,
  DeadLetterHeaders,
  MAX_COMMAND_PAYLOAD_BYTES,
  pathBeyondDepth,
  silentLogger,
} from '@gatehouse/bus';
import type { FieldIssue } from '@gatehouse/service-kit';
import { randomUUID } from 'node:crypto';
import { ingestSubjectSuffix, mapIngestEvent } from './ingest-mapping.js';

export const INGEST_SEGMENT = 'ingest';
/** Deepest nesting a CloudEvent may have (the envelope is level 1, its data level 2). */
export const MAX_INGEST_DEPTH = 20;
/** Replicas share ingestion: each fact goes to one gateway. */
export const DEFAULT_INGEST_QUEUE = 'gatehouse-ingest';

export interface IngestListenerOptions {
  /** @defaultValue DEFAULT_SUBJECT_PREFIX ("gatehouse"): listens on `<prefix>.ingest.>` */
  subjectPrefix?: string;
  /** @defaultValue DEFAULT_INGEST_QUEUE */
  queue?: string;
  logger?: BusLogger;
}

/** Reply to a request/reply publisher. */
export type IngestReply =
  | { ok: true; commandId: string; command: string; result: unknown }
  | { ok: false; error: { name: string; message: string; issues?: FieldIssue[]; code?: string } };

export interface IngestListener {
  /** Drains the subscription: facts already received are answered first. */
  stop(): Promise<void>;
}

/**
 * Ingestion over NATS: `<prefix>.ingest.<type without "gatehouse.">` (e.g. `gatehouse.ingest.release.built`).
 * A request gets an {@link IngestReply}; a plain publish that is invalid, or whose command fails, is
 * parked on `<prefix>.dlq.ingest.<type>` (the GATEHOUSE_DLQ stream) with the reason in headers.
 */
export function startIngestListener(
  nc: NatsConnection,
  commands: CommandBus,
  { subjectPrefix = DEFAULT_SUBJECT_PREFIX, queue = DEFAULT_INGEST_QUEUE, logger = silentLogger }: IngestListenerOptions = {},
): IngestListener {
  const root = `${subjectPrefix}.${INGEST_SEGMENT}.`;
  const subscription = nc.subscribe(`${root}>`, { queue });
  const js = jetstream(nc);

  const park = async (msg: Msg, reason: 'invalid_data' | 'handler_failed', errorName: string, message: string): Promise<void> => {
    const suffix = msg.subject.slice(root.length).replace(/\./g, '_') || 'unknown';
    const h = natsHeaders();
    h.set(DeadLetterHeaders.Reason, reason);
    h.set(DeadLetterHeaders.OriginalSubject, msg.subject);
    h.set(DeadLetterHeaders.ErrorName, errorName);
    h.set(DeadLetterHeaders.ErrorMessage, message.slice(0, 1_000));
    try {
      await js.publish(deadLetterSubject(INGEST_SEGMENT, suffix, subjectPrefix), msg.data, { headers: h });
    } catch (error) {
      logger.error({ subject: msg.subject, reason, err: error }, 'ingest: could not park an unprocessable message in the DLQ');
    }
  };

  const handle = async (msg: Msg): Promise<void> => {
    const answer = (reply: IngestReply): void => {
      if (msg.reply) msg.respond(JSON.stringify(reply));
    };
    const refuse = (issue: FieldIssue): Promise<void> | void => {
      const message = `Invalid CloudEvent: ${issue.field ? `${issue.field}: ` : ''}${issue.reason}`;
      if (msg.reply) return answer({ ok: false, error: { name: 'ValidationError', message, issues: [issue] } });
      return park(msg, 'invalid_data', 'ValidationError', message);
    };
    if (msg.data.length > MAX_COMMAND_PAYLOAD_BYTES) return refuse({ field: '', reason: `body is ${msg.data.length} bytes, more than ${MAX_COMMAND_PAYLOAD_BYTES}` });
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      return refuse({ field: '', reason: 'body is not JSON' });
    }
    const tooDeep = pathBeyondDepth(raw, MAX_INGEST_DEPTH);
    if (tooDeep !== undefined) return refuse({ field: tooDeep.split('.').slice(0, 2).join('.'), reason: `nested deeper than ${MAX_INGEST_DEPTH} levels (at ${abbreviatePath(tooDeep)})` });
    const actor = `ingest:${sourceOf(raw)}`;
    const mapping = mapIngestEvent(raw, { actor, correlationId: randomUUID() });
    const expectedSuffix = mapping.ok ? ingestSubjectSuffix(mapping.type) : undefined;
    const issues: FieldIssue[] = mapping.ok
      ? msg.subject === `${root}${expectedSuffix}`
        ? []
        : [{ field: 'type', reason: `a ${mapping.type} event must be published on ${root}${expectedSuffix}` }]
      : mapping.issues;
    if (!mapping.ok || issues.length > 0) {
      const message = `Invalid CloudEvent: ${issues.map((i) => (i.field ? `${i.field}: ${i.reason}` : i.reason)).join('; ')}`;
      if (msg.reply) return answer({ ok: false, error: { name: 'ValidationError', message, issues } });
      return park(msg, 'invalid_data', 'ValidationError', message);
    }
    const { context, command, payload } = mapping.command;
    try {
      const result = await commands.send(context, command, payload, { caller: { subject: actor, roles: [] } });
      answer({ ok: true, commandId: mapping.commandId, command: `${context}.${command}`, result });
    } catch (error) {
      const failure = describe(error);
      logger.warn({ subject: msg.subject, commandId: mapping.commandId, error: failure.name }, 'ingest: command failed');
      if (msg.reply) return answer({ ok: false, error: failure });
      return park(msg, 'handler_failed', failure.name, failure.message);
    }
  };

  const loop = (async () => {
    for await (const msg of subscription) {
      // One message must never end ingestion: whatever goes wrong is logged and the next one is read.
      await handle(msg).catch((error: unknown) => logger.error({ subject: msg.subject, err: error }, 'ingest: could not handle a message'));
    }
  })();

  return {
    async stop() {
      await subscription.drain();
      await loop;
    },
  };
}

function sourceOf(raw: unknown): string {
  const source = typeof raw === 'object' && raw !== null ? (raw as { source?: unknown }).source : undefined;
  return typeof source === 'string' ? source.slice(0, 200) : 'unknown';
}

function describe(error: unknown): { name: string; message: string; code?: string } {
  if (error instanceof CommandFailedError) return { name: error.remoteName, message: error.remoteMessage };
  if (error instanceof Error) return { name: error.name, message: error.message, ...('code' in error && typeof error.code === 'string' ? { code: error.code } : {}) };
  return { name: 'Error', message: String(error) };
}
