import { Transport, type NatsOptions } from '@nestjs/microservices';
import { connect, errors as natsErrors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { BusUnavailableError, CommandFailedError, CommandTimeoutError, DuplicateHandlerError, NoResponderError } from '../errors.js';
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

type ConnectionStatus = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/**
 * Sends commands over NATS request/reply with the nats.js client itself: one multiplexed reply
 * subscription per connection (`<inboxPrefix>.<nuid>.*`), so a command is one publish and one reply,
 * where Nest's `ClientProxy` subscribed and unsubscribed a fresh inbox around every request and ran
 * each through rxjs. It speaks Nest's packet format (`{ id, pattern, data }`, answered by
 * `{ id, response, isDisposed }`), so `@MessagePattern` servers and {@link createNatsCommandBus}'s
 * `register` answer it alike.
 *
 * Silence becomes `CommandTimeoutError` and the server's no-responders status `NoResponderError`, both
 * naming the subject. While the connection is down (it keeps reconnecting) a send fails at once with
 * `BusUnavailableError`, and so does a send waiting for its reply when the connection drops. A payload
 * nested deeper than `MAX_COMMAND_PAYLOAD_DEPTH` or larger than {@link MAX_COMMAND_PAYLOAD_BYTES} is
 * refused before it is serialised (`InvalidCommandPayloadError`, naming the field).
 */
export class CommandClient {
  private readonly subjectPrefix: string;
  private readonly defaultTimeoutMs: number;
  private status: ConnectionStatus = 'disconnected';
  private connectedOnce = false;
  private connecting: Promise<NatsConnection> | undefined;
  private nc: NatsConnection | undefined;
  private closed = false;
  private nextId = 0;
  /** Sends waiting for their reply: failed at once when the connection drops. */
  private readonly waiting = new Set<(error: BusUnavailableError) => void>();

  constructor(
    /** Opens the connection (reconnecting forever once up); called again after a failed first attempt. */
    private readonly open: () => Promise<NatsConnection>,
    { subjectPrefix = DEFAULT_SUBJECT_PREFIX, defaultTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS }: CommandClientOptions = {},
  ) {
    this.subjectPrefix = subjectPrefix;
    this.defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Whether the connection is known to be down right now (it was up before and has not come back). */
  get unavailable(): boolean {
    return this.connectedOnce && this.status !== 'connected';
  }

  async send<Result = unknown>(context: string, command: string, payload: unknown, { timeoutMs = this.defaultTimeoutMs }: SendOptions = {}): Promise<Result> {
    const subject = commandSubject(context, command, this.subjectPrefix);
    assertPayloadDepth(subject, payload);
    const data: string | undefined = JSON.stringify(payload);
    assertPayloadSize(subject, Buffer.byteLength(data ?? ''));
    if (this.unavailable) throw new BusUnavailableError(subject, `connection ${this.status}`);
    const id = `${++this.nextId}`;
    // Nest's packet, written around the data serialised once (no `data` key for undefined, as JSON.stringify of the packet would).
    const body = `{"pattern":${JSON.stringify(subject)},${data === undefined ? '' : `"data":${data},`}"id":"${id}"}`;
    const nc = await this.connectionFor(subject);
    let dropped!: (error: BusUnavailableError) => void;
    const connectionLost = new Promise<never>((_, reject) => (dropped = reject));
    this.waiting.add(dropped);
    const request = nc.request(subject, body, { timeout: timeoutMs });
    // Settled after a drop (its own timeout): observed so it never surfaces as an unhandled rejection.
    request.catch(() => undefined);
    let reply: Msg;
    try {
      reply = await Promise.race([request, connectionLost]);
    } catch (error) {
      throw requestFailure(subject, timeoutMs, error);
    } finally {
      this.waiting.delete(dropped);
    }
    return unwrapReply<Result>(subject, replyPacketOf(subject, id, reply));
  }

  /** Resolves when the connection answers a round trip; rejects naming why not. */
  async ready(): Promise<void> {
    if (this.unavailable) throw new Error(`NATS connection ${this.status}`);
    const nc = await this.connectionFor('readiness');
    if (nc.isClosed()) throw new Error('NATS connection closed');
    await nc.rtt();
  }

  async close(): Promise<void> {
    this.closed = true;
    const nc = this.nc ?? (await this.connecting?.catch(() => undefined));
    this.nc = undefined;
    this.connecting = undefined;
    this.status = 'closed';
    this.failWaiting('the client was closed');
    if (nc !== undefined && !nc.isClosed()) await nc.close();
  }

  /**
   * The connection, opened on first use; a failed attempt is not kept, so the next call tries again.
   * Fails with `BusUnavailableError` naming `subject` when it cannot be opened.
   */
  async connectionFor(subject: string): Promise<NatsConnection> {
    if (this.nc !== undefined) return this.nc;
    if (this.closed) throw new BusUnavailableError(subject, 'the client was closed');
    const attempt = (this.connecting ??= this.open().then((nc) => {
      if (this.closed) {
        void nc.close();
        throw new BusUnavailableError(subject, 'the client was closed');
      }
      this.nc = nc;
      this.status = 'connected';
      this.connectedOnce = true;
      void this.watch(nc);
      return nc;
    }));
    try {
      return await attempt;
    } catch (error) {
      if (this.connecting === attempt) this.connecting = undefined;
      if (error instanceof BusUnavailableError) throw error;
      throw new BusUnavailableError(subject, error instanceof Error ? error.message : String(error));
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.status = 'disconnected';
        this.failWaiting('the connection dropped while waiting for the reply; retry with the same command id');
      } else if (status.type === 'reconnecting') {
        this.status = 'reconnecting';
      } else if (status.type === 'reconnect') {
        this.status = 'connected';
      }
    }
    // The status iterator ends when the connection is closed for good.
    if (this.nc === nc) {
      this.status = 'closed';
      this.failWaiting('the connection closed');
    }
  }

  private failWaiting(reason: string): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fail of waiting) fail(new BusUnavailableError('(waiting for a reply)', reason));
  }
}

/** nats.js's failures of a request, as the bus's errors naming the subject. */
function requestFailure(subject: string, timeoutMs: number, error: unknown): unknown {
  if (error instanceof BusUnavailableError) return error.subject === subject ? error : new BusUnavailableError(subject, error.reason);
  if (error instanceof natsErrors.RequestError && error.isNoResponders()) return new NoResponderError(subject);
  if (error instanceof natsErrors.NoRespondersError) return new NoResponderError(subject);
  if (error instanceof natsErrors.TimeoutError || (error instanceof natsErrors.RequestError && error.cause instanceof natsErrors.TimeoutError)) return new CommandTimeoutError(subject, timeoutMs);
  if (isConnectionFailure(error)) return new BusUnavailableError(subject, error instanceof Error ? error.message : String(error));
  return error;
}

/**
 * The CommandReply in a reply message: Nest's reply packet `{ id, response | err, isDisposed }` (what
 * both kinds of server send to a request with an id), or a bare reply. An empty body is the server's
 * no-responders answer on old servers.
 */
function replyPacketOf(subject: string, id: string, reply: Msg): unknown {
  if (reply.data.length === 0) throw new NoResponderError(subject);
  let packet: unknown;
  try {
    packet = reply.json<unknown>();
  } catch {
    throw new CommandFailedError(subject, 'InvalidReply', 'the reply is not JSON', undefined);
  }
  if (typeof packet !== 'object' || packet === null || !('id' in packet) || (packet as { id: unknown }).id !== id) return packet;
  const { err, response } = packet as { err?: unknown; response?: unknown };
  if (err !== undefined && err !== null) {
    const message = typeof err === 'string' ? err : typeof (err as { message?: unknown }).message === 'string' ? (err as { message: string }).message : JSON.stringify(err);
    throw new CommandFailedError(subject, 'RemoteError', message, typeof err === 'object' ? (err as Record<string, unknown>) : undefined);
  }
  return response;
}

/** Connection errors of nats.js (closed, refused, lost) as opposed to an answer. */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof natsErrors.ClosedConnectionError || error instanceof natsErrors.DrainingConnectionError || error instanceof natsErrors.ConnectionError) return true;
  return /connection (lost|closed|refused)|closed connection|disconnect|CONNECTION_(CLOSED|REFUSED)/i.test(`${error.name} ${error.message} ${String((error as { code?: unknown }).code ?? '')}`);
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

/** A {@link CommandClient} on its own NATS connection (opened on first use), reconnecting forever. */
export function createCommandClient({ servers, name, user, pass, inboxPrefix, ...options }: NatsCommandTransportOptions & CommandClientOptions): CommandClient {
  return new CommandClient(
    () => connect({ servers, ...COMMAND_CONNECTION_OPTIONS, ...(name !== undefined ? { name } : {}), ...(user !== undefined ? { user, pass } : {}), ...(inboxPrefix !== undefined ? { inboxPrefix } : {}) }),
    options,
  );
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

  const connection = (): Promise<NatsConnection> => client.connectionFor(`${subjectPrefix}.cmd`);

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
