/** A periodic task whose runs never overlap; stop() waits for the run in progress. */
export interface Ticker {
  stop(): Promise<void>;
}

/** How often stop() looks whether the run in progress has finished, in ms. */
const STOP_POLL_MS = 5;

/**
 * Runs `task` every `intervalMs`. A run still in progress when the next is due is not doubled;
 * a failing run is reported to `onError` and the next one runs as usual (timer loops retry by ticking).
 */
export function startTicker(intervalMs: number, task: () => Promise<void>, onError: (error: unknown) => void): Ticker {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void task()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      while (running) await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    },
  };
}
