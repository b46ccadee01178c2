import { ClusterUnreachableError } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included. @defaultValue 5 */
  attempts?: number;
  /** Delay before the second attempt; doubles each time, with full jitter. @defaultValue 100 */
  baseDelayMs?: number;
  /** @defaultValue 2000 */
  maxDelayMs?: number;
}

/** HTTP answers worth another try: a stale resourceVersion (409, re-read and re-applied), throttling (429), server errors. */
const RETRIED_STATUSES = new Set([409, 429]);

/** The status of a client-node ApiException, or undefined for a connection-level failure. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = statusOf(error);
  // No HTTP status: the connection failed (reset, refused, socket hang up, fetch failed).
  if (status === undefined) return error.name !== 'ClusterStepError' && error.name !== 'InvalidManifestError';
  return RETRIED_STATUSES.has(status) || status >= 500;
}

/**
 * Runs `operation` (which re-reads what it changes, so a 409 retry applies to the latest version) until it
 * succeeds, fails with a non-transient error (thrown as is), or runs out of attempts (ClusterUnreachableError
 * naming cluster and object). `onRetry` sees each transient failure.
 */
export async function withRetry<T>(
  cluster: string,
  object: string,
  operation: () => Promise<T>,
  { attempts = 5, baseDelayMs = 100, maxDelayMs = 2_000 }: RetryOptions = {},
  onRetry?: (attempt: number, error: unknown) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= attempts) throw new ClusterUnreachableError(cluster, object, error);
      onRetry?.(attempt, error);
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
