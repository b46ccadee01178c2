import { ClientProxyFactory, Transport, type ClientProxy, type NatsOptions } from '@nestjs/microservices';
import { EmptyResponseException } from '@nestjs/microservices/errors/empty-response.exception.js';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { firstValueFrom, throwError, timeout } from 'rxjs';
import { CommandTimeoutError, DuplicateHandlerError, NoResponderError } from '../errors.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_SUBJECT_PREFIX, commandSubject } from '../subjects.js';
import { replyError, replyOk, unwrapReply } from './reply.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, type CommandBus, type CommandHandler, type SendOptions } from './types.js';

/** Queue group command handlers join, so replicas of a service share the load; one name suffices since groups are per subject. */
export const DEFAULT_COMMAND_QUEUE = 'gatehouse-commands';

export interface CommandClientOptions {
  /** @defaultValue DEFAULT_SUBJECT_PREFIX ('gatehouse') */
  subjectPrefix?: string;
  /** @defaultValue DEFAULT_COMMAND_TIMEOUT_MS (5000) */
  defaultTimeoutMs?: number;
}

/**
 * Sends commands over NATS request/reply through NestJS's `ClientProxy`, so it
 * interoperates with `@MessagePattern` handlers. Nest's NATS client never
 * times out by itself: the rxjs `timeout()` turns silence into
 * `CommandTimeoutError`, and the server's no-responders status (an empty
 * reply) into `NoResponderError`, both naming the subject.
 */
export class CommandClient {
  private readonly subjectPrefix: string;
  private readonly defaultTimeoutMs: number;

  constructor(
    /** A `ClientNats` (e.g. from `ClientsModule` or {@link createCommandClient}). */
    readonly proxy: ClientProxy,
    { subjectPrefix = DEFAULT_SUBJECT_PREFIX, defaultTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS }: CommandClientOptions = {},
  ) {
    this.subjectPrefix = subjectPrefix;
    this.defaultTimeoutMs = defaultTimeoutMs;
  }

  async send<Result = unknown>(context: string, command: string, payload: unknown, { timeoutMs = this.defaultTimeoutMs }: SendOptions = {}): Promise<Result> {
    const subject = commandSubject(context, command, this.subjectPrefix);
    let reply: unknown;
    try {
      reply = await firstValueFrom(
        this.proxy.send<unknown>(subject, payload).pipe(timeout({ first: timeoutMs, with: () => throwError(() => new CommandTimeoutError(subject, timeoutMs)) })),
      );
    } catch (error) {
      if (error instanceof EmptyResponseException) throw new NoResponderError(subject);
      throw error;
    }
    return unwrapReply<Result>(subject, reply);
  }

  close(): Promise<void> {
    return Promise.resolve(this.proxy.close());
  }
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

/** A {@link CommandClient} on its own Nest NATS client. */
export function createCommandClient({ servers, name, user, pass, inboxPrefix, ...options }: NatsCommandTransportOptions & CommandClientOptions): CommandClient {
  const proxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers, ...(name !== undefined ? { name } : {}), ...(user !== undefined ? { user, pass } : {}), ...(inboxPrefix !== undefined ? { inboxPrefix } : {}) } });
  return new CommandClient(proxy, options);
}

/**
 * Options for `NestFactory.createMicroservice(Module, commandServerOptions(...))`:
 * the NATS transport with a queue group, so `@MessagePattern(commandPattern(...))`
 * handlers of every replica share the load. Handlers should return
 * `runCommand(() => ...)` so errors travel as a typed {@link CommandReply}.
 */
export function commandServerOptions({ servers, name, user, pass, inboxPrefix, queue = DEFAULT_COMMAND_QUEUE }: NatsCommandTransportOptions & { queue?: string }): NatsOptions {
  return { transport: Transport.NATS, options: { servers, queue, ...(name !== undefined ? { name } : {}), ...(user !== undefined ? { user, pass } : {}), ...(inboxPrefix !== undefined ? { inboxPrefix } : {}) } };
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

/** Nest's NATS request packet and reply packet, so `register` and `@MessagePattern` handlers are interchangeable. */
interface NestRequestPacket {
  id?: string;
  pattern?: unknown;
  data?: unknown;
}

/**
 * {@link CommandBus} on NATS without a Nest application: `send` goes through
 * {@link CommandClient}; `register` subscribes with a queue group on the same
 * connection and speaks Nest's packet format, so either side can be a Nest
 * microservice.
 */
export function createNatsCommandBus({ queue = DEFAULT_COMMAND_QUEUE, logger = silentLogger, ...options }: NatsCommandBusOptions): CommandBus {
  const client = createCommandClient(options);
  const subscriptions = new Map<string, Subscription>();
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;

  async function connection(): Promise<NatsConnection> {
    await client.proxy.connect();
    return client.proxy.unwrap<NatsConnection>();
  }

  async function serve(msg: Msg, handler: CommandHandler, context: string, command: string): Promise<void> {
    let packet: NestRequestPacket;
    try {
      packet = msg.json<NestRequestPacket>();
    } catch (error) {
      logger.warn({ ...errorFields(error), subject: msg.subject }, 'ignoring a command that is not JSON');
      return;
    }
    let reply;
    try {
      reply = replyOk(await handler(packet.data, { context, command, subject: msg.subject }));
    } catch (error) {
      reply = replyError(error);
    }
    if (msg.reply !== undefined && msg.reply !== '') msg.respond(JSON.stringify({ id: packet.id, response: reply, isDisposed: true }));
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
    async close() {
      await Promise.all([...subscriptions.values()].map((subscription) => subscription.drain()));
      subscriptions.clear();
      await client.close();
    },
  };
}
