import { ClientProxyFactory, Transport, type ClientProxy, type NatsOptions } from '@nestjs/microservices';
import { EmptyResponseException } from '@nestjs/microservices/errors/empty-response.exception.js';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { filter, firstValueFrom, mergeMap, type Observable, race, type Subscription as RxSubscription, take, throwError, timeout } from 'rxjs';
import { BusUnavailableError, CommandTimeoutError, DuplicateHandlerError, NoResponderError } from '../errors.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_SUBJECT_PREFIX, commandSubject } from '../subjects.js';
import { assertPayloadDepth, assertPayloadSize, InvalidCommandPayloadError, MAX_COMMAND_PAYLOAD_BYTES } from './payload-limits.js';
import { type CommandReply, replyError, replyOk, unwrapReply } from './reply.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, type CommandBus, type CommandHandler, type SendOptions } from './types.js';

/** Queue group command handlers join, so replicas of a service share the load; one name suffices since groups are per subject. */
export const DEFAULT_COMMAND_QUEUE = 'gatehouse-commands';

export interface CommandClientOptions {
  /** @defaultValue DEFAULT_SUBJECT_PREFIX ('gatehouse') */
  subjectPrefix?: string;
  /** @defaultValue DEFAULT_COMMAND_TIMEOUT_MS (5000) */
  defaultTimeoutMs?: number;
}

/** Nest's NATS client status values (`ClientProxy.status`). */
type ConnectionStatus = 'connected' | 'disconnected' | 'reconnecting' | string;

/**
 * Sends commands over NATS request/reply through NestJS's `ClientProxy`, so it
 * interoperates with `@MessagePattern` handlers. Nest's NATS client never
 * times out by itself: the rxjs `timeout()` turns silence into
 * `CommandTimeoutError`, and the server's no-responders status (an empty
 * reply) into `NoResponderError`, both naming the subject.
 *
 * While the connection is down (the client keeps reconnecting) a send fails at
 * once with `BusUnavailableError`, and so does a send waiting for its reply when
 * the connection drops. A payload nested deeper than `MAX_COMMAND_PAYLOAD_DEPTH`
 * or larger than {@link MAX_COMMAND_PAYLOAD_BYTES} is refused before it is
 * serialised (`InvalidCommandPayloadError`, naming the field).
 */
export class CommandClient {
  private readonly subjectPrefix: string;
  private readonly defaultTimeoutMs: number;
  private status: ConnectionStatus = 'disconnected';
  private connectedOnce = false;
  private readonly watching: RxSubscription;

  constructor(
    /** A `ClientNats` (e.g. from `ClientsModule` or {@link createCommandClient}). */
    readonly proxy: ClientProxy,
    { subjectPrefix = DEFAULT_SUBJECT_PREFIX, defaultTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS }: CommandClientOptions = {},
  ) {
    this.subjectPrefix = subjectPrefix;
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.watching = (proxy.status as Observable<ConnectionStatus>).subscribe((status) => {
      this.status = status;
      if (status === 'connected') this.connectedOnce = true;
    });
  }

  /** Whether the connection is known to be down right now (it was up before and has not come back). */
  get unavailable(): boolean {
    return this.connectedOnce && this.status !== 'connected';
  }

  async send<Result = unknown>(context: string, command: string, payload: unknown, { timeoutMs = this.defaultTimeoutMs }: SendOptions = {}): Promise<Result> {
    const subject = commandSubject(context, command, this.subjectPrefix);
    assertPayloadDepth(subject, payload);
    assertPayloadSize(subject, Buffer.byteLength(JSON.stringify(payload) ?? ''));
    if (this.unavailable) throw new BusUnavailableError(subject, `connection ${this.status}`);
    const connectionLost = (this.proxy.status as Observable<ConnectionStatus>).pipe(
      filter((status) => status !== 'connected' && this.connectedOnce),
      take(1),
      mergeMap(() => throwError(() => new BusUnavailableError(subject, 'the connection dropped while waiting for the reply; retry with the same command id'))),
    );
    let reply: unknown;
    try {
      reply = await firstValueFrom(
        race(this.proxy.send<unknown>(subject, payload), connectionLost).pipe(
          timeout({ first: timeoutMs, with: () => throwError(() => new CommandTimeoutError(subject, timeoutMs)) }),
        ),
      );
    } catch (error) {
      if (error instanceof EmptyResponseException) throw new NoResponderError(subject);
      if (isConnectionFailure(error)) throw new BusUnavailableError(subject, error instanceof Error ? error.message : String(error));
      throw error;
    }
    return unwrapReply<Result>(subject, reply);
  }

  /** Resolves when the connection answers a round trip; rejects naming why not. */
  async ready(): Promise<void> {
    if (this.unavailable) throw new Error(`NATS connection ${this.status}`);
    const nc = await connectionOf(this.proxy);
    if (nc.isClosed()) throw new Error('NATS connection closed');
    await nc.rtt();
  }

  close(): Promise<void> {
    this.watching.unsubscribe();
    return Promise.resolve(this.proxy.close());
  }
}

/** Nest's ClientNats rejects with a bare string while it reconnects; nats.js with connection errors once closed. */
function isConnectionFailure(error: unknown): boolean {
  if (typeof error === 'string') return true;
  if (!(error instanceof Error)) return false;
  return /connection (lost|closed|refused)|closed connection|disconnect|CONNECTION_(CLOSED|REFUSED)/i.test(`${error.name} ${error.message} ${String((error as { code?: unknown }).code ?? '')}`);
}

async function connectionOf(proxy: ClientProxy): Promise<NatsConnection> {
  try {
    await proxy.connect();
  } catch (error) {
    // ClientNats rejects with a string ("Error: Connection lost. Trying to reconnect...").
    throw error instanceof Error ? error : new Error(String(error).replace(/^Error: /, ''));
  }
  return proxy.unwrap<NatsConnection>();
}

export interface NatsCommandTransportOptions {
  /** NATS server URL(s). */
  servers: string | string[];
  /** Connection name shown in NATS monitoring. */
  name?: string;
  /** Credentials when the server requires them (its authorization block). */
  user?: string;
  pass?: string;
  /** Subject prefix of this connection's reply inboxes (a user may only read its own). @defaultValue '_INBOX' */
  inboxPrefix?: string;
}

/**
 * Connection options every command connection uses: reconnect forever (nats.js gives up after
 * 10 attempts by default, leaving a process that looks alive but answers nothing), and no
 * async stack traces on every request.
 */
export const COMMAND_CONNECTION_OPTIONS = { maxReconnectAttempts: -1, reconnectTimeWait: 1_000, noAsyncTraces: true } as const;

/** A {@link CommandClient} on its own Nest NATS client, reconnecting forever. */
export function createCommandClient({ servers, name, user, pass, inboxPrefix, ...options }: NatsCommandTransportOptions & CommandClientOptions): CommandClient {
  const proxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers, ...COMMAND_CONNECTION_OPTIONS, ...(name !== undefined ? { name } : {}), ...(user !== undefined ? { user, pass } : {}), ...(inboxPrefix !== undefined ? { inboxPrefix } : {}) } });
  return new CommandClient(proxy, options);
}

/**
 * Options for `NestFactory.createMicroservice(Module, commandServerOptions(...))`:
 * the NATS transport with a queue group, so `@MessagePattern(commandPattern(...))`
 * handlers of every replica share the load. Handlers should return
 * `runCommand(() => ...)` so errors travel as a typed {@link CommandReply}.
 */
export function commandServerOptions({ servers, name, user, pass, inboxPrefix, queue = DEFAULT_COMMAND_QUEUE }: NatsCommandTransportOptions & { queue?: string }): NatsOptions {
  return {
    transport: Transport.NATS,
    options: { servers, queue, ...COMMAND_CONNECTION_OPTIONS, deserializer: new CommandRequestDeserializer(), ...(name !== undefined ? { name } : {}), ...(user !== undefined ? { user, pass } : {}), ...(inboxPrefix !== undefined ? { inboxPrefix } : {}) },
  };
}

/**
 * Nest's server deserialiser, refusing what `serve` refuses: a request that is not a command
 * packet, or whose data breaks the payload limits, is answered here with `{ ok: false, error }`
 * and never reaches a handler (Nest logs the rejection and carries on).
 */
class CommandRequestDeserializer {
  deserialize(message: Msg): { id: string; pattern: string; data: unknown } {
    const request = decodeCommandRequest(message.subject, message.data);
    if (request.ok && request.id !== undefined) return { id: request.id, pattern: message.subject, data: request.data };
    const error = request.ok ? new InvalidCommandPayloadError(message.subject, 'shape', [{ field: 'id', reason: 'a request needs a string id' }]) : request.error;
    if (message.reply) message.respond(encodeCommandReply(request.id, replyError(error)));
    throw error;
  }
}

/** The `@MessagePattern` for a command, e.g. `commandPattern('approvals', 'ApproveChange')`. */
export function commandPattern(context: string, command: string, subjectPrefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return commandSubject(context, command, subjectPrefix);
}

export interface NatsCommandBusOptions extends NatsCommandTransportOptions, CommandClientOptions {
  /** @defaultValue DEFAULT_COMMAND_QUEUE */
  queue?: string;
  logger?: BusLogger;
}

/** A command request as received: Nest's packet `{ id, pattern, data }`, checked, or why it was refused. */
export type DecodedCommandRequest = { ok: true; id: string | undefined; data: unknown } | { ok: false; id: string | undefined; error: InvalidCommandPayloadError };

/** Room for the packet around the data (id, pattern). */
const PACKET_OVERHEAD_BYTES = 4 * 1024;

/**
 * Reads a command request (Nest's packet format, so `register` and `@MessagePattern` handlers are
 * interchangeable) without trusting it: empty, not JSON, not an object, no `data`, a non-string id,
 * too large or too deep are refused with the field and the reason. Never throws.
 */
export function decodeCommandRequest(subject: string, bytes: Uint8Array): DecodedCommandRequest {
  const refuse = (limit: 'json' | 'shape' | 'size' | 'depth', field: string, reason: string, id?: string): DecodedCommandRequest => ({
    ok: false,
    id,
    error: new InvalidCommandPayloadError(subject, limit, [{ field, reason }]),
  });
  if (bytes.length === 0) return refuse('json', '', 'is empty: a command request is JSON {"id", "pattern", "data"}');
  if (bytes.length > MAX_COMMAND_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES) return refuse('size', '', `is ${bytes.length} bytes, more than the ${MAX_COMMAND_PAYLOAD_BYTES} a command may carry`);
  let packet: unknown;
  try {
    packet = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    return refuse('json', '', 'is not JSON: a command request is JSON {"id", "pattern", "data"}');
  }
  if (typeof packet !== 'object' || packet === null || Array.isArray(packet)) return refuse('shape', '', 'must be a JSON object {"id", "pattern", "data"}');
  const { id, data } = packet as { id?: unknown; data?: unknown };
  if (id !== undefined && typeof id !== 'string') return refuse('shape', 'id', 'must be a string');
  if (!('data' in packet)) return refuse('shape', 'data', 'is required: the command payload', id);
  try {
    assertPayloadDepth(subject, data);
  } catch (error) {
    return { ok: false, id, error: error as InvalidCommandPayloadError };
  }
  return { ok: true, id, data };
}

/**
 * The reply body: Nest's reply packet when the request had an id (what `CommandClient` and
 * `@MessagePattern` callers expect), the bare {@link CommandReply} otherwise. A result that
 * cannot be serialised becomes an error reply rather than no reply.
 */
export function encodeCommandReply(id: string | undefined, reply: CommandReply): string {
  const wrap = (r: CommandReply): unknown => (id === undefined ? r : { id, response: r, isDisposed: true });
  try {
    const body = JSON.stringify(wrap(reply), (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (Buffer.byteLength(body) <= MAX_COMMAND_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES) return body;
  } catch {
    // falls through to the error reply
  }
  return JSON.stringify(wrap(replyError(new Error(`the handler's answer could not be sent: not serialisable, or over ${MAX_COMMAND_PAYLOAD_BYTES} bytes`))));
}

/**
 * {@link CommandBus} on NATS without a Nest application: `send` goes through
 * {@link CommandClient}; `register` subscribes with a queue group on the same
 * connection and speaks Nest's packet format, so either side can be a Nest
 * microservice.
 */
/** The NATS {@link CommandBus}, with a readiness check of its own connection. */
export interface NatsCommandBus extends CommandBus {
  /** Resolves when the command connection answers a round trip; rejects naming why not. */
  ready(): Promise<void>;
}

export function createNatsCommandBus({ queue = DEFAULT_COMMAND_QUEUE, logger = silentLogger, ...options }: NatsCommandBusOptions): NatsCommandBus {
  const client = createCommandClient(options);
  const subscriptions = new Map<string, Subscription>();
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;

  const connection = (): Promise<NatsConnection> => connectionOf(client.proxy);

  /** Decode → handle → answer. Never throws: whatever arrives gets a reply (when one is asked for) and the process stays up. */
  async function serve(msg: Msg, handler: CommandHandler, context: string, command: string): Promise<void> {
    let id: string | undefined;
    try {
      const request = decodeCommandRequest(msg.subject, msg.data);
      id = request.id;
      let reply: CommandReply;
      if (!request.ok) {
        logger.warn({ subject: msg.subject, issues: request.error.issues }, 'refused a malformed command request');
        reply = replyError(request.error);
      } else {
        try {
          reply = replyOk(await handler(request.data, { context, command, subject: msg.subject }));
        } catch (error) {
          reply = replyError(error);
        }
      }
      respond(msg, encodeCommandReply(id, reply));
    } catch (error) {
      logger.error({ ...errorFields(error), subject: msg.subject }, 'could not answer a command');
      try {
        respond(msg, encodeCommandReply(id, replyError(new Error('the service could not answer this command; see its log'))));
      } catch {
        // The connection is gone: the caller times out and retries.
      }
    }
  }

  function respond(msg: Msg, body: string): void {
    if (msg.reply !== undefined && msg.reply !== '') msg.respond(body);
  }

  return {
    async register(context, command, handler) {
      const subject = commandSubject(context, command, subjectPrefix);
      if (subscriptions.has(subject)) throw new DuplicateHandlerError(subject);
      const nc = await connection();
      const subscription = nc.subscribe(subject, {
        queue,
        callback: (error, msg) => {
          if (error !== null) {
            logger.error({ ...errorFields(error), subject }, 'command subscription failed');
            return;
          }
          void serve(msg, handler as CommandHandler, context, command);
        },
      });
      subscriptions.set(subject, subscription);
      // Make the interest known to the server before callers rely on it (no false NoResponderError).
      await nc.flush();
      return async () => {
        subscriptions.delete(subject);
        await subscription.drain();
      };
    },
    send: (context, command, payload, sendOptions) => client.send(context, command, payload, sendOptions),
    ready: () => client.ready(),
    async close() {
      await Promise.all([...subscriptions.values()].map((subscription) => subscription.drain()));
      subscriptions.clear();
      await client.close();
    },
  };
}
