import { DEFAULT_BATCH_SIZE, START, type EventHandler, type SubscribeOptions, type Subscription } from './types.js';
import { InvalidArgumentError } from './errors.js';
import type { EventLogStorage, LogCursor } from './storage.js';
import { LOG_START } from './storage.js';

/** Pause between polls once caught up. */
export const DEFAULT_POLL_INTERVAL_MS = 100;

/**
 * Catch-up then live polling from a durable checkpoint. The checkpoint advances after each
 * handled batch (and, when a handler throws or stop() is called, to the last handled event),
 * so a restart re-delivers at most the unfinished part of one batch: handlers must be idempotent.
 */
export function startSubscription(storage: EventLogStorage, handler: EventHandler, options: SubscribeOptions): Subscription {
  const { subscriptionId, batchSize = DEFAULT_BATCH_SIZE, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  if (typeof subscriptionId !== 'string' || subscriptionId === '') {
    throw new InvalidArgumentError('subscriptionId', 'must be a non-empty string');
  }
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new InvalidArgumentError('batchSize', 'must be a positive integer');

  let stopping = false;
  let wake: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const run = async (): Promise<void> => {
    const checkpoint = (await storage.readCheckpoint(subscriptionId)) ?? START;
    let cursor: LogCursor = checkpoint === START ? LOG_START : await storage.cursorAfter(checkpoint);
    while (!stopping) {
      const page = await storage.readPage(cursor, { limit: batchSize });
      let handledUpTo: bigint | undefined;
      try {
        for (let index = 0; index < page.size; index++) {
          if (stopping) return;
          const event = page.event(index);
          await handler(event);
          handledUpTo = event.globalPosition;
        }
      } finally {
        // Runs on success, stop and handler failure alike: never lose or overstate progress.
        if (handledUpTo !== undefined) await storage.storeCheckpoint(subscriptionId, handledUpTo);
      }
      cursor = page.next;
      if (page.size < batchSize && !stopping) await sleep(pollIntervalMs);
    }
  };

  const done = run();
  done.catch(() => undefined); // callers observe failures through `done`; avoid an unhandled rejection meanwhile
  return {
    done,
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      await done.catch(() => undefined);
    },
  };
}
