import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { EventStore, StopWatchingAppends, StoredEvent } from '@gatehouse/eventstore';
import { encodeEnvelope, toEnvelope, DEFAULT_EVENT_SOURCE } from '../envelope.js';
import { RelayPublishError } from '../errors.js';
import { errorFields, silentLogger, sleep, type BusLogger } from '../logger.js';
import { DEFAULT_SUBJECT_PREFIX, eventSubjectFor } from '../subjects.js';
import { readAhead } from './read-ahead.js';

/** Global position before the first event (the store's START): a relay without a checkpoint publishes everything. */
const START = 0n;
export const DEFAULT_RELAY_MAX_IN_FLIGHT = 512;
/**
 * Fallback poll once caught up, for a store that wakes the relay on appends
 * (EventStore.watchAppends): wake-ups carry the latency, so this only bounds
 * the delay when one is lost (e.g. while the store reconnects its listener).
 */
export const DEFAULT_RELAY_POLL_INTERVAL_MS = 500;
/** Poll interval for a store that cannot wake the relay. */
export const DEFAULT_RELAY_POLL_INTERVAL_WITHOUT_WAKE_UPS_MS = 100;
/**
 * First look after a wake-up or a pass that found events, doubling while
 * passes find nothing, up to the poll interval: readAll holds back events
 * behind a still-open transaction, which may announce nothing when it ends.
 */
const RECHECK_DELAY_MS = 10;
export const DEFAULT_RELAY_CHECKPOINT_EVERY = 1_000;
/**
 * While events trickle in, the checkpoint is stored at most this often (and after every
 * `checkpointEvery` events, when caught up and asked to be, and when stopping): one write per
 * pass cost a PostgreSQL transaction per few commands, and a checkpoint that lags by a second
 * only means a second of duplicates for JetStream to absorb after a crash.
 */
export const DEFAULT_RELAY_CHECKPOINT_INTERVAL_MS = 1_000;
export const DEFAULT_RELAY_PUBLISH_TIMEOUT_MS = 5_000;
export const DEFAULT_RELAY_RETRY_DELAY_MS = 1_000;
export const DEFAULT_RELAY_READ_AHEAD = 4_000;

export interface RelayHooks {
  /** Acknowledged events since the last call: at each checkpoint and at the end of each pass. */
  onAcked?(info: { count: number; duplicates: number; lastPosition: bigint }): void;
  /** After the checkpoint was stored. */
  onCheckpoint?(position: bigint): void;
  /** The relay read everything committed so far and is now polling. */
  onCaughtUp?(position: bigint): void;
  /** A publish or store failure; the relay backs off and resumes from its checkpoint. */
  onError?(error: unknown): void;
}

export interface RelayOptions {
  store: EventStore;
  /**
   * Preferably on a connection made with `noAsyncTraces: true`: otherwise
   * nats.js captures two stack traces per publish, about a fifth of the
   * relay's CPU in profiles.
   */
  js: JetStreamClient;
  /** Name of the store checkpoint holding the last global position known to be in JetStream. */
  checkpointName: string;
  /** @defaultValue DEFAULT_SUBJECT_PREFIX ('gatehouse') */
  subjectPrefix?: string;
  /** CloudEvents `source` of the published envelopes. @defaultValue DEFAULT_EVENT_SOURCE */
  source?: string;
  /**
   * Publishes awaiting their JetStream ack at once. Publishes of one connection
   * reach the server in order, so pipelining keeps commit order while hiding
   * the round trip. @defaultValue DEFAULT_RELAY_MAX_IN_FLIGHT (512)
   */
  maxInFlight?: number;
  /** Events read from the store per round trip. @defaultValue the store's DEFAULT_BATCH_SIZE */
  batchSize?: number;
  /**
   * Events buffered ahead of the publisher: the next store batch is fetched
   * while the current one is published, so a database round trip never
   * drains the publish window. @defaultValue DEFAULT_RELAY_READ_AHEAD (4000)
   */
  readAheadEvents?: number;
  /**
   * Once caught up, the relay waits for the store's wake-up (EventStore.watchAppends) and looks
   * anyway after this long; a store without wake-ups is polled at this interval.
   * @defaultValue DEFAULT_RELAY_POLL_INTERVAL_MS (500) with wake-ups, else DEFAULT_RELAY_POLL_INTERVAL_WITHOUT_WAKE_UPS_MS (100)
   */
  pollIntervalMs?: number;
  /** Store the checkpoint after this many acknowledged events (and when stopping). @defaultValue DEFAULT_RELAY_CHECKPOINT_EVERY (1000) */
  checkpointEvery?: number;
  /**
   * Once caught up, store the checkpoint if the last one is at least this old; a pending one is
   * stored when it comes due even if no event arrives. 0 stores it after every pass.
   * @defaultValue DEFAULT_RELAY_CHECKPOINT_INTERVAL_MS (1000)
   */
  checkpointIntervalMs?: number;
  /** Wait this long for each PubAck. @defaultValue DEFAULT_RELAY_PUBLISH_TIMEOUT_MS (5000) */
  publishTimeoutMs?: number;
  /** Back-off after a failure before resuming from the checkpoint. @defaultValue DEFAULT_RELAY_RETRY_DELAY_MS (1000) */
  retryDelayMs?: number;
  /**
   * Send `Nats-Expected-Last-Msg-Id` = previous event's id with every publish
   * but the first after (re)start. When one publish in the window fails, the
   * server then rejects every later one instead of storing them ahead of the
   * failed event, so the stream stays in commit order even across retries.
   * (JetStream checks duplicates before expectations, so re-published
   * duplicates are still absorbed.) Requires that only the relay publishes
   * into the events stream. @defaultValue true
   */
  enforceOrder?: boolean;
  hooks?: RelayHooks;
  logger?: BusLogger;
}

export interface RelayMetrics {
  /** Events JetStream acknowledged as newly stored. */
  published: number;
  /** Events JetStream acknowledged as duplicates (re-published after a restart). */
  duplicates: number;
  /** Publish or store failures since start. */
  errors: number;
  /** Publishes awaiting their ack right now. */
  inFlight: number;
  /** Global position of the last contiguously acknowledged event. */
  ackedPosition: bigint;
  /** Last position stored as the checkpoint. */
  checkpointPosition: bigint;
  /** Age of the last acknowledged event (ms between its recordedAt and its ack); 0 when idle and caught up. */
  lagMs: number;
  caughtUp: boolean;
}

export interface Relay {
  metrics(): RelayMetrics;
  /** Resolves when every event committed before the call is acknowledged and checkpointed (test and shutdown aid). */
  waitUntilCaughtUp(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops reading, waits for in-flight acks, stores the checkpoint. */
  stop(): Promise<void>;
  /** Settles when the relay ends: resolves after stop(). The relay never ends by itself on errors: it retries. */
  readonly done: Promise<void>;
}

type Settled = { ok: true; ack: PubAck } | { ok: false; error: unknown };
interface Pending {
  event: StoredEvent;
  result: Promise<Settled>;
}

/**
 * Starts the outbox relay: every stored event, in commit order, to JetStream
 * with `Nats-Msg-Id` = event id; the checkpoint advances only past events
 * JetStream acknowledged. At-least-once: a crash between ack and checkpoint
 * re-publishes events JetStream drops as duplicates (within its duplicate window).
 */
export function startRelay({
  store,
  js,
  checkpointName,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  source = DEFAULT_EVENT_SOURCE,
  maxInFlight = DEFAULT_RELAY_MAX_IN_FLIGHT,
  batchSize,
  readAheadEvents = DEFAULT_RELAY_READ_AHEAD,
  pollIntervalMs,
  checkpointEvery = DEFAULT_RELAY_CHECKPOINT_EVERY,
  checkpointIntervalMs = DEFAULT_RELAY_CHECKPOINT_INTERVAL_MS,
  publishTimeoutMs = DEFAULT_RELAY_PUBLISH_TIMEOUT_MS,
  retryDelayMs = DEFAULT_RELAY_RETRY_DELAY_MS,
  enforceOrder = true,
  hooks = {},
  logger = silentLogger,
}: RelayOptions): Relay {
  const stopController = new AbortController();
  const metrics: RelayMetrics = {
    published: 0,
    duplicates: 0,
    errors: 0,
    inFlight: 0,
    ackedPosition: START,
    checkpointPosition: START,
    lagMs: 0,
    caughtUp: false,
  };
  const caughtUpWaiters = new Set<() => void>();
  let passesStarted = 0;
  let passesCaughtUp = 0;
  /** When the checkpoint was last stored (ms, Date.now()). */
  let checkpointedAt = 0;
  /** waitUntilCaughtUp() callers need the checkpoint stored at the end of each pass up to this one. */
  let checkpointWantedUntilPass = 0;
  // Set by the store's wake-up, cleared just before a pass reads: one arriving mid-pass starts the next pass.
  let appendedSinceRead = false;
  let endIdle: (() => void) | undefined;
  const onAppended = (): void => {
    appendedSinceRead = true;
    endIdle?.();
  };

  /** Resolves after `ms`, on a wake-up, or on stop, whichever comes first. */
  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (appendedSinceRead || stopController.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        endIdle = undefined;
        stopController.signal.removeEventListener('abort', done);
        resolve();
      }
      endIdle = done;
      stopController.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function watchAppends(): Promise<StopWatchingAppends | undefined> {
    if (store.watchAppends === undefined) return undefined;
    try {
      return await store.watchAppends(onAppended, {
        onError: (error) => logger.warn({ ...errorFields(error), checkpointName }, 'relay lost the store wake-ups; polling until they are back'),
      });
    } catch (error) {
      logger.warn({ ...errorFields(error), checkpointName }, 'relay could not watch the store for appends; polling');
      return undefined;
    }
  }

  function publish(event: StoredEvent, previousId: string | undefined): Promise<Settled> {
    const options = {
      msgID: event.id,
      timeout: publishTimeoutMs,
      ...(enforceOrder && previousId !== undefined ? { expect: { lastMsgID: previousId } } : {}),
    };
    let payload: Uint8Array;
    let subject: string;
    try {
      subject = eventSubjectFor(event.streamId, event.type, subjectPrefix);
      payload = encodeEnvelope(toEnvelope(event, { source }));
    } catch (error) {
      return Promise.resolve({ ok: false, error });
    }
    return js.publish(subject, payload, options).then(
      (ack): Settled => ({ ok: true, ack }),
      (error: unknown): Settled => ({ ok: false, error }),
    );
  }

  async function storeCheckpoint(): Promise<void> {
    if (metrics.ackedPosition === metrics.checkpointPosition) return;
    const position = metrics.ackedPosition;
    await store.storeCheckpoint(checkpointName, position);
    metrics.checkpointPosition = position;
    checkpointedAt = Date.now();
    hooks.onCheckpoint?.(position);
  }

  /** Ms until a pending checkpoint is due (0: due now); undefined when nothing is pending. */
  function checkpointDueInMs(): number | undefined {
    if (metrics.ackedPosition === metrics.checkpointPosition) return undefined;
    return Math.max(0, checkpointedAt + checkpointIntervalMs - Date.now());
  }

  /** One catch-up pass: read after the acked position until the log is exhausted. */
  async function pass(): Promise<{ passNumber: number; eventsRead: number }> {
    passesStarted += 1;
    const passNumber = passesStarted;
    let eventsRead = 0;
    const window: Pending[] = [];
    let previousId: string | undefined;
    let sinceCheckpoint = 0;
    let ackedRun = 0;
    let duplicateRun = 0;
    let completed = false;

    const settleOldest = async (): Promise<void> => {
      const pending = window.shift()!;
      const settled = await pending.result;
      metrics.inFlight = window.length;
      if (!settled.ok) throw new RelayPublishError(pending.event.id, pending.event.globalPosition, settled.error);
      if (settled.ack.duplicate) {
        metrics.duplicates += 1;
        duplicateRun += 1;
      } else {
        metrics.published += 1;
      }
      ackedRun += 1;
      metrics.ackedPosition = pending.event.globalPosition;
      metrics.lagMs = Date.now() - pending.event.recordedAt.getTime();
      if (++sinceCheckpoint >= checkpointEvery) {
        flushAcked();
        await storeCheckpoint();
        sinceCheckpoint = 0;
      }
    };
    const flushAcked = (): void => {
      if (ackedRun === 0) return;
      hooks.onAcked?.({ count: ackedRun, duplicates: duplicateRun, lastPosition: metrics.ackedPosition });
      ackedRun = 0;
      duplicateRun = 0;
    };

    try {
      const events = readAhead(store.readAll({ after: metrics.ackedPosition, ...(batchSize !== undefined ? { batchSize } : {}) }), readAheadEvents);
      reading: for await (const burst of events) {
        metrics.caughtUp = false;
        eventsRead += burst.length;
        for (let next = 0; next < burst.length; ) {
          if (stopController.signal.aborted) break reading;
          if (window.length >= maxInFlight) {
            // Drain to half before publishing again: nats.js flushes its outbound buffer on a
            // microtask, so publishing after every single ack would cost a socket write per event.
            while (window.length > maxInFlight / 2) await settleOldest();
          }
          // Synchronous burst: everything published here leaves in one write.
          const end = Math.min(burst.length, next + maxInFlight - window.length);
          for (; next < end; next += 1) {
            const event = burst[next]!;
            window.push({ event, result: publish(event, previousId) });
            previousId = event.id;
          }
          metrics.inFlight = window.length;
        }
      }
      while (window.length > 0) await settleOldest();
      completed = !stopController.signal.aborted;
    } finally {
      // Later publishes may still be pending; their results are settled promises, so dropping them leaks nothing.
      window.length = 0;
      metrics.inFlight = 0;
      flushAcked();
      // Caught up: stored when due (or asked for); after a failure or on stop: stored now, as far as it was acknowledged.
      if (!completed || passNumber <= checkpointWantedUntilPass || checkpointDueInMs() === 0) await storeCheckpoint();
    }
    return { passNumber, eventsRead };
  }

  async function run(): Promise<void> {
    // Watch before the first read, so no append after it goes unnoticed.
    const stopWatching = await watchAppends();
    const pollMs = pollIntervalMs ?? (stopWatching === undefined ? DEFAULT_RELAY_POLL_INTERVAL_WITHOUT_WAKE_UPS_MS : DEFAULT_RELAY_POLL_INTERVAL_MS);
    const recheckMs = Math.min(RECHECK_DELAY_MS, pollMs);
    let idleMs = pollMs;
    let resumed = false;
    while (!stopController.signal.aborted) {
      try {
        if (!resumed) {
          metrics.ackedPosition = (await store.readCheckpoint(checkpointName)) ?? START;
          metrics.checkpointPosition = metrics.ackedPosition;
          resumed = true;
          logger.info({ checkpointName, position: metrics.ackedPosition.toString() }, 'relay resuming from checkpoint');
        }
        const woken = appendedSinceRead;
        appendedSinceRead = false;
        const { passNumber, eventsRead } = await pass();
        if (stopController.signal.aborted) break;
        if (!metrics.caughtUp) hooks.onCaughtUp?.(metrics.ackedPosition);
        metrics.caughtUp = true;
        metrics.lagMs = 0;
        passesCaughtUp = passNumber;
        for (const wake of caughtUpWaiters) wake();
        // A woken pass may have found its event still held back behind an open transaction (gap-safe
        // readAll), and that transaction's end may announce nothing: look again soon, then back off.
        const active = stopWatching !== undefined && (woken || eventsRead > 0);
        idleMs = active ? recheckMs : Math.min(idleMs * 2, pollMs);
        const dueMs = checkpointDueInMs();
        await idle(dueMs === undefined ? idleMs : Math.min(idleMs, dueMs));
        if (checkpointDueInMs() === 0) await storeCheckpoint();
      } catch (error) {
        metrics.errors += 1;
        metrics.caughtUp = false;
        hooks.onError?.(error);
        logger.warn({ ...errorFields(error), checkpointName, position: metrics.ackedPosition.toString() }, 'relay pass failed; resuming from the last acknowledged event');
        await sleep(retryDelayMs, stopController.signal);
      }
    }
    // Stopped while idle: what was acknowledged since the last checkpoint is stored now.
    if (resumed) {
      await storeCheckpoint().catch((error: unknown) => {
        logger.warn({ ...errorFields(error), checkpointName, position: metrics.ackedPosition.toString() }, 'relay could not store its checkpoint when stopping; the events after it are published again (as duplicates) at the next start');
      });
    }
    await stopWatching?.().catch(() => undefined);
    logger.info({ checkpointName, position: metrics.ackedPosition.toString() }, 'relay stopped');
  }

  const done = run();
  // `done` is awaited by stop(); keep an unobserved rejection from crashing the process.
  done.catch(() => undefined);

  return {
    metrics: () => ({ ...metrics }),
    waitUntilCaughtUp({ timeoutMs = 30_000 } = {}) {
      // A pass already running may have read past the log's end before the caller's commit: wait for the next one.
      const target = passesStarted + 1;
      checkpointWantedUntilPass = Math.max(checkpointWantedUntilPass, target);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          caughtUpWaiters.delete(check);
          reject(new Error(`relay '${checkpointName}' did not catch up within ${timeoutMs} ms`));
        }, timeoutMs);
        function check(): void {
          if (passesCaughtUp >= target) {
            clearTimeout(timer);
            caughtUpWaiters.delete(check);
            resolve();
          }
        }
        caughtUpWaiters.add(check);
      });
    },
    async stop() {
      stopController.abort();
      await done;
    },
    done,
  };
}
