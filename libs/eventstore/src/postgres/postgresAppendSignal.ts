import type pg from 'pg';
import { watcherSet, type AppendSignal } from '../appendSignal.js';
import { appendsChannel } from '../sql/schema.js';
import { listenOnDedicatedConnection } from './listenConnection.js';

/*
 * Why the NOTIFY is sent by the store after the append, not by the append statement (or a
 * trigger) inside the append's transaction: a transaction that notifies takes a cluster-wide
 * lock at commit and holds it through its WAL flush, so concurrent appends could no longer
 * share a flush (group commit). Measured with 16 writers of 1-event appends on PostgreSQL 15:
 * a statement-level trigger calling pg_notify cut throughput to 0.27-0.63x. NOTIFYs sent apart,
 * coalesced across concurrent appends and committed without waiting for their own flush
 * (nothing to make durable) cost 3-6% (0.94-0.97x in paired, interleaved rounds).
 */

/**
 * Under sustained appends, NOTIFYs from one store are at least this far apart (at most 100 a
 * second, however many writers), the appends in between sharing the next one. A lone append is
 * announced at once; a busy watcher is re-reading at about this pace anyway.
 */
export const NOTIFY_MIN_INTERVAL_MS = 10;

/** One statement in its own transaction: nothing to flush, so it need not wait for the WAL. */
const notifyScript = (channel: string): string => `BEGIN; SET LOCAL synchronous_commit = off; NOTIFY ${channel}; COMMIT`;

/**
 * Wakes watchers in every process through LISTEN/NOTIFY on the schema's appendsChannel. After
 * an append commits, a NOTIFY is sent unless one is already on its way, in which case one more
 * is sent after it: every append is followed by a NOTIFY that started after its commit, and
 * concurrent appends share them. The store's watchers share one listening connection.
 */
export function postgresAppendSignal(pool: pg.Pool, schema: string): AppendSignal {
  const channel = appendsChannel(schema);
  const script = notifyScript(channel);
  const watchers = watcherSet();
  let sending: Promise<void> | undefined;
  /** The NOTIFY transaction open right now, if any (none during the pause between two). */
  let inFlight: Promise<void> | undefined;
  let sendAgain = false;
  /** The store's one LISTEN, shared by its watchers while there are any. */
  let listening: Promise<() => Promise<void>> | undefined;
  let closed = false;

  async function sendNotifications(): Promise<void> {
    do {
      sendAgain = false;
      const started = Date.now();
      // A lost wake-up costs watchers one fallback poll interval; an append never fails for it.
      inFlight = pool.query(script).then(
        () => undefined,
        () => undefined,
      );
      await inFlight;
      inFlight = undefined;
      const pause = NOTIFY_MIN_INTERVAL_MS - (Date.now() - started);
      if (sendAgain && !closed && pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    } while (sendAgain && !closed);
    sending = undefined;
  }

  async function stopListening(): Promise<void> {
    const current = listening;
    listening = undefined;
    const unlisten = await current?.catch(() => undefined);
    await unlisten?.().catch(() => undefined);
  }

  return {
    appended() {
      if (closed) return;
      // An append waits for a NOTIFY transaction open when it committed (at most one short round
      // trip): a NOTIFY's transaction takes a transaction id, and while it is open readAll's
      // gap-safety guard holds back every event committed after it began, so a writer reading the
      // log right after its append would not see it. The NOTIFY sent for this append starts after
      // its commit, holds nothing of it back, and is not waited for.
      if (sending !== undefined) {
        sendAgain = true;
        return inFlight;
      }
      sending = sendNotifications();
      return undefined;
    },
    async watch(listener, options) {
      const watcher = watchers.add(listener, options);
      // The pool's own settings (not a copy: pg-pool hides the password from enumeration).
      const attempt = (listening ??= listenOnDedicatedConnection(pool.options, channel, () => watchers.wake(), (error) => watchers.reportError(error)));
      try {
        await attempt;
      } catch (error) {
        watchers.delete(watcher);
        // Nothing to stop; the next watch tries again.
        if (listening === attempt) listening = undefined;
        throw error;
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        watchers.delete(watcher);
        if (watchers.size === 0) await stopListening();
      };
    },
    async close() {
      closed = true;
      watchers.clear();
      await sending;
      await stopListening();
    },
  };
}
