/**
 * PostgreSQL being unreachable (stopped, restarting, the network gone) is not a bug in the query
 * that met it: it is told apart as {@link StoreUnavailableError}, so services answer "the
 * database is down, retry" (HTTP 503) instead of an internal error.
 */

/**
 * The database could not be reached. Retry once it is back: a write whose connection was cut at
 * COMMIT may or may not have been applied, which appends with an expected version or a command id
 * make safe to retry.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE' as const;
  constructor(readonly reason: string) {
    super(`PostgreSQL is unreachable (${reason})`);
  }
  override get name(): string {
    return 'StoreUnavailableError';
  }
}

/** Socket-level failures Node reports for a connection that cannot be made or was cut. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** SQLSTATEs of a server that is going away or not yet there: class 08 (connection exception), admin/crash shutdown, starting up. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
/** What pg says when a connection dies under it, or the pool cannot get one in time. */
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i;

/** Whether `error` means PostgreSQL could not be reached (as opposed to a query that failed). */
export function isConnectionFailure(error: unknown): boolean {
  // Duck-typed, not instanceof: socket errors come from Node's own realm, which differs from a VM context's.
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  if (Array.isArray(errors) && errors.some(isConnectionFailure)) return true;
  return typeof message === 'string' && CONNECTION_MESSAGES.test(message);
}

/** `error` as a {@link StoreUnavailableError} when it is a connection failure, unchanged otherwise. */
export function asStoreUnavailable(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isConnectionFailure(error)) return error;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  const reason =
    typeof message === 'string' && message !== ''
      ? message
      : Array.isArray(errors)
        ? errors.map((e: unknown) => String((e as { message?: unknown }).message ?? e)).join('; ')
        : String(error);
  return new StoreUnavailableError(typeof code === 'string' && !reason.includes(code) ? `${code}: ${reason}` : reason);
}
