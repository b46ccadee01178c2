import pg from 'pg';

/** Wait before re-establishing a lost listening connection; doubles per failed attempt. */
export const LISTEN_RETRY_MIN_DELAY_MS = 100;
/** Upper bound of that back-off. */
export const LISTEN_RETRY_MAX_DELAY_MS = 5_000;

/**
 * LISTENs on `channel` over a connection of its own (a pooled one would be handed to other
 * queries), until the returned function is called. A lost connection, or a failed first
 * attempt, is reported to `onError` and re-established with back-off; `onNotify` is then
 * called once, because notifications sent while nobody listened are gone.
 * Resolves after the first attempt, whether it succeeded or not.
 */
export async function listenOnDedicatedConnection(
  config: pg.ClientConfig,
  channel: string,
  onNotify: () => void,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let connecting: Promise<boolean> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = LISTEN_RETRY_MIN_DELAY_MS;
  let stopped = false;

  function lost(candidate: pg.Client, error: unknown): void {
    // Ends we caused (stop, a failed attempt) concern clients that are no longer current.
    if (client !== candidate) return;
    client = undefined;
    candidate.end().catch(() => undefined);
    onError(error);
    scheduleRetry();
  }

  async function connect(): Promise<boolean> {
    const candidate = new pg.Client(config);
    candidate.on('error', (error) => lost(candidate, error));
    candidate.on('end', () => lost(candidate, new Error(`the connection listening on '${channel}' ended`)));
    candidate.on('notification', (message) => {
      if (message.channel === channel && !stopped) onNotify();
    });
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${channel}`);
    } catch (error) {
      candidate.end().catch(() => undefined);
      onError(error);
      return false;
    }
    if (stopped) {
      await candidate.end().catch(() => undefined);
      return false;
    }
    client = candidate;
    retryDelay = LISTEN_RETRY_MIN_DELAY_MS;
    return true;
  }

  function attempt(): Promise<boolean> {
    connecting ??= connect().finally(() => (connecting = undefined));
    return connecting;
  }

  function scheduleRetry(): void {
    if (stopped || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void attempt().then((listening) => {
        if (listening) {
          onNotify();
        } else {
          retryDelay = Math.min(retryDelay * 2, LISTEN_RETRY_MAX_DELAY_MS);
          scheduleRetry();
        }
      });
    }, retryDelay);
    // The retry alone must not keep a process alive; whoever listens has other work that does.
    retryTimer.unref();
  }

  if (!(await attempt())) scheduleRetry();

  return async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    retryTimer = undefined;
    await connecting;
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
}
