/**
 * The NestJS face of a Gatehouse service: `@MessagePattern` handlers are served through the service's
 * `CommandBus` (NATS request/reply with signed commands and queue groups, or the in-process bus), and
 * `@EventPattern` handlers run as event consumers from its `EventConsumerFactory` (durable JetStream
 * consumers, store-checked and measured, or the store's checkpointed subscription). Nest's own NATS
 * transport knows neither signatures nor JetStream; this strategy adds nothing of its own to either path:
 * replies, error replies, acks, retries and dead letters are exactly those of the bus and the consumers.
 */
import type { CommandBus, CommandContext, DataSchemas, EventConsumer, EventConsumerFactory, ReceivedEvent, VerifiedCaller } from '@gatehouse/bus';
import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { lastValueFrom, type Observable, throwError } from 'rxjs';

/** Identifies this strategy's handlers (`@MessagePattern(pattern, GATEHOUSE_TRANSPORT)` is only needed in a hybrid app). */
export const GATEHOUSE_TRANSPORT = Symbol('gatehouse');

/** The `@MessagePattern` of a command: the bus adds its subject prefix (`<prefix>.cmd.<context>.<command>`). */
export interface BusCommandPattern {
  readonly context: string;
  readonly command: string;
}

/** `@MessagePattern(busCommand(APPROVALS_CONTEXT, 'grant'))`. */
export function busCommand(context: string, command: string): BusCommandPattern {
  return { context, command };
}

/** The `@EventPattern` of a reaction: the consumer it runs as (the durable JetStream consumer or store checkpoint it resumes from). */
export interface BusConsumerPattern {
  readonly consumer: string;
}

/** `@EventPattern(busConsumer('approvals-request-on-change'), busEvents({ categories, eventTypes, dataSchemas }))`. */
export function busConsumer(consumer: string): BusConsumerPattern {
  return { consumer };
}

/** The extras of an `@EventPattern(busConsumer(name), busEvents({...}))`: what the consumer receives. */
export interface BusEventsExtras {
  /** Only these categories (stream id prefixes); all when omitted. */
  readonly categories?: readonly string[];
  /** Only these event types; all when omitted. */
  readonly eventTypes?: readonly string[];
  /** Schemas the event data is validated against before the handler sees it; data failing its schema is dead-lettered. */
  readonly dataSchemas?: DataSchemas;
  /** Replay the whole log at every start with no durable state (in-memory read models). @defaultValue false */
  readonly replay?: boolean;
}

export function busEvents(extras: BusEventsExtras = {}): BusEventsExtras {
  return extras;
}

/** `@Ctx()` of a `@MessagePattern` handler: the command as the bus received it. */
export class CommandRpcContext extends BaseRpcContext<[CommandContext]> {
  getCommand(): CommandContext {
    return this.args[0];
  }

  /** Who sent it, as its verified signature says (the only identity a handler may trust); undefined on an unauthenticated bus. */
  getCaller(): VerifiedCaller | undefined {
    return this.args[0].caller;
  }
}

/** `@Ctx()` of an `@EventPattern` handler: the delivery (subject, CloudEvents envelope, attempt). */
export class EventRpcContext extends BaseRpcContext<[ReceivedEvent]> {
  getReceived(): ReceivedEvent {
    return this.args[0];
  }

  /** 1 on the first delivery. */
  getDeliveryCount(): number {
    return this.args[0].deliveryCount;
  }
}

/**
 * Nest's default filter answers any error that is not an `RpcException` with "Internal server error".
 * Handlers here throw the errors the bus already maps (domain errors keep their name, code and facts in
 * `{ ok: false, error }`; the consumers retry or dead-letter by error type), so they pass through unchanged.
 */
@Catch()
export class BusErrorPassThrough implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

export interface GatehouseTransportOptions {
  commands: CommandBus;
  events: EventConsumerFactory;
}

/** Commands are registered before consumers start (a reaction may ask this service), and stopped in reverse. */
export class GatehouseTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = GATEHOUSE_TRANSPORT;
  /** A failing reaction must fail its delivery (retry, dead letter), not be logged and acknowledged. */
  override readonly propagatesEventHandlerErrors = true;
  private unregister: Array<() => Promise<void>> = [];
  private consumers: EventConsumer[] = [];

  constructor(private readonly bus: GatehouseTransportOptions) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const handlers = [...this.getHandlers()];
      for (const [route, handler] of handlers) {
        if (!handler.isEventHandler) this.unregister.push(await this.serveCommand(route, handler));
      }
      for (const [route, handler] of handlers) {
        if (handler.isEventHandler) this.consumers.push(await this.consume(route, handler));
      }
      callback();
    } catch (error) {
      await this.close().catch(() => undefined);
      callback(error);
    }
  }

  async close(): Promise<void> {
    const consumers = this.consumers.splice(0);
    const unregister = this.unregister.splice(0);
    for (const consumer of consumers.reverse()) await consumer.stop();
    await Promise.all(unregister.map((u) => u()));
  }

  on(): never {
    throw new Error('GatehouseTransport has no events of its own to listen to');
  }

  unwrap<T>(): T {
    return this.bus as T;
  }

  private serveCommand(route: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const { context, command } = patternOf<BusCommandPattern>(route, ['context', 'command'], 'busCommand(context, command)');
    return this.bus.commands.register(context, command, (payload, meta) => run(this, handler, payload, new CommandRpcContext([meta])));
  }

  private consume(route: string, handler: MessageHandler): Promise<EventConsumer> {
    const { consumer } = patternOf<BusConsumerPattern>(route, ['consumer'], 'busConsumer(name)');
    if (handler.next !== undefined) throw new Error(`two @EventPattern handlers share the consumer '${consumer}': exactly one reaction owns a consumer`);
    const { categories, eventTypes, dataSchemas, replay } = (handler.extras ?? {}) as BusEventsExtras;
    return this.bus.events.consume({
      name: consumer,
      ...(categories !== undefined ? { categories } : {}),
      ...(eventTypes !== undefined ? { eventTypes } : {}),
      ...(dataSchemas !== undefined ? { dataSchemas } : {}),
      ...(replay !== undefined ? { replay } : {}),
      handler: (received) => run(this, handler, received.event, new EventRpcContext([received])),
    });
  }
}

/** Runs a Nest handler (guards, pipes, interceptors, filters) and settles with its last value or its error. */
async function run(server: Server, handler: MessageHandler, data: unknown, context: BaseRpcContext): Promise<never> {
  const result: unknown = await handler(data, context);
  return (await lastValueFrom(server.transformToObservable(result), { defaultValue: undefined })) as never;
}

/** The pattern a handler was declared with, from Nest's route (its keys sorted, as JSON). */
function patternOf<P>(route: string, keys: readonly (keyof P & string)[], helper: string): P {
  let pattern: unknown;
  try {
    pattern = JSON.parse(route);
  } catch {
    pattern = undefined;
  }
  const fields = (pattern ?? {}) as Record<string, unknown>;
  if (!keys.every((key) => typeof fields[key] === 'string')) throw new Error(`pattern ${route} is not one of this transport's: declare it with ${helper}`);
  return fields as P;
}
