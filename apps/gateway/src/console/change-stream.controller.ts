import { Controller, Get, Headers, Inject, OnModuleDestroy, Param, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import type { FastifyReply } from 'fastify';
import { AuthGuard } from '../auth/auth.guard.js';
import { mentions } from '../audit/story.js';
import { IdParams } from '../lifecycle/dtos.js';
import { EVENT_STORE } from '../tokens.js';
import { EventFeed } from './event-feed.js';

/** Injection token of the gateway's one tail of the event log. */
export const EVENT_FEED = Symbol('EVENT_FEED');
/** A comment line this often keeps proxies from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;

/** What a console needs of one event to draw progress: no hashes, no metadata beyond time and actor. */
export interface ChangeStreamEvent {
  position: string;
  type: string;
  streamId: string;
  occurredAt: string;
  data: unknown;
}

export function belongsToChange(event: StoredEvent, changeRequestId: string): boolean {
  return event.streamId.endsWith(`-${changeRequestId}`) || mentions(event.data, changeRequestId);
}

function toStreamEvent(event: StoredEvent): ChangeStreamEvent {
  const occurredAt = typeof event.metadata.occurredAt === 'string' ? event.metadata.occurredAt : event.recordedAt.toISOString();
  return { position: event.globalPosition.toString(), type: event.type, streamId: event.streamId, occurredAt, data: event.data };
}

const POSITION = /^\d{1,19}$/;

/** Live views over server-sent events, fed by the gateway's tail of the event log (not by polling per client). */
@ApiTags('console')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/stream')
export class ChangeStreamController implements OnModuleDestroy {
  /** Open streams, ended when the gateway stops (the HTTP server waits for open connections). */
  private readonly open = new Set<{ end(): void }>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_FEED) private readonly feed: EventFeed,
  ) {}

  @Get('change-requests/:id')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-sent events of one change: every event of its streams (deployment steps, watch samples, rollback, approvals) as it is appended; first the story so far (after Last-Event-ID when reconnecting). Each message: id = global position, data = { position, type, streamId, occurredAt, data }',
  })
  async stream(@Param() params: IdParams, @Headers('last-event-id') lastEventId: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    const id = params.id;
    const after = lastEventId !== undefined && POSITION.test(lastEventId) ? BigInt(lastEventId) : 0n;
    // Subscribed before the response starts: a store that cannot be read is still an ordinary JSON error (503).
    // Live events that arrive during the catch-up wait until it is done, so the order stays the log's.
    const held: StoredEvent[] = [];
    let catchingUp = true;
    let deliver: (event: StoredEvent) => void = () => undefined;
    const unsubscribe = await this.feed.subscribe((event) => (catchingUp ? held.push(event) : deliver(event)));
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let sentUpTo = after;
    let closed = false;
    // Events the catch-up read, so the live ones held meanwhile are not sent twice. Ids, not positions: the log's
    // order is commit order, in which global positions of concurrent appends can go backwards.
    const caughtUpIds = new Set<string>();
    const send = (event: StoredEvent): void => {
      if (closed || !belongsToChange(event, id)) return;
      sentUpTo = event.globalPosition;
      raw.write(`id: ${event.globalPosition}\nevent: change\ndata: ${JSON.stringify(toStreamEvent(event))}\n\n`);
    };
    deliver = send;
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.open.add(raw);
    raw.on('close', () => {
      closed = true;
      this.open.delete(raw);
      clearInterval(heartbeat);
      unsubscribe();
    });
    try {
      for await (const event of this.store.readAll({ after })) {
        caughtUpIds.add(event.id);
        send(event);
      }
    } catch {
      raw.write(`event: error\ndata: ${JSON.stringify({ message: 'the event log could not be read; reconnect to resume' })}\n\n`);
      raw.end();
      return;
    }
    catchingUp = false;
    for (const event of held.splice(0)) if (!caughtUpIds.has(event.id)) send(event);
    caughtUpIds.clear();
    raw.write(`event: caught-up\ndata: ${JSON.stringify({ position: sentUpTo.toString() })}\n\n`);
  }

  async onModuleDestroy(): Promise<void> {
    for (const raw of this.open) raw.end();
    await this.feed.close();
  }
}
