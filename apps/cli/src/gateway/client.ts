/** The gateway's HTTP API as the lifecycle commands call it, with each failure mapped to the CLI's exit codes. */
import { randomUUID } from 'node:crypto';
import { EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_UNAVAILABLE } from '../io.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are the gateway's JSON, read field by field
export type Json = any;

/** The gateway refused or could not be reached; `exitCode` is what the CLI exits with. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    message: string,
    readonly exitCode: number,
    /** HTTP status, or null when the gateway could not be reached. */
    readonly status: number | null,
    readonly body: Json,
  ) {
    super(message);
  }
}

/**
 * 400/401/413 → 2 (bad input or credentials), 403/409/422 → 3 (a rule refused it), 404 → 4,
 * 5xx and an unreachable gateway → 5.
 */
export function exitCodeForStatus(status: number): number {
  if (status === 404) return EXIT_NOT_FOUND;
  if (status === 403 || status === 409 || status === 422) return EXIT_REFUSED;
  if (status >= 500) return EXIT_UNAVAILABLE;
  return EXIT_BAD_INPUT;
}

export interface CallOptions {
  /** Sent as Idempotency-Key on POST/PUT (default: a fresh UUID, so a retry by the CLI itself is safe). */
  idempotencyKey?: string;
  /** Answer as text (e.g. Markdown) instead of JSON. */
  text?: boolean;
}

export interface GatewayClient {
  readonly baseUrl: string;
  call(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown, options?: CallOptions): Promise<Json>;
}

/** The `message` of the gateway's error body, with its field issues when it names them. */
function messageOf(body: Json, fallback: string): string {
  if (body === null || typeof body !== 'object') return fallback;
  const message = typeof body.message === 'string' ? body.message : Array.isArray(body.message) ? body.message.join('; ') : fallback;
  const issues = Array.isArray(body.issues) ? body.issues.map((i: Json) => `${i.field ? `${i.field}: ` : ''}${i.reason}`) : [];
  return issues.length > 0 && !issues.every((i: string) => message.includes(i)) ? `${message} (${issues.join('; ')})` : message;
}

export function gatewayClient(baseUrl: string, token: string | undefined): GatewayClient {
  const base = baseUrl.replace(/\/$/, '');
  return {
    baseUrl: base,
    async call(method, route, body, options = {}) {
      const url = `${base}${route}`;
      const headers: Record<string, string> = {};
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (method !== 'GET') headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
      let response: Response;
      try {
        response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new GatewayError(`cannot reach the gateway at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message} (is it running? set --url or GATEHOUSE_URL)`, EXIT_UNAVAILABLE, null, null);
      }
      const text = await response.text();
      let parsed: Json = text;
      if (!options.text || !response.ok) {
        try {
          parsed = text === '' ? null : JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (!response.ok) {
        const hint = response.status === 401 ? ' (sign in: gatehouse login, or pass --token / GATEHOUSE_TOKEN)' : '';
        throw new GatewayError(`${method} ${route} answered ${response.status}: ${messageOf(parsed, text)}${hint}`, exitCodeForStatus(response.status), response.status, parsed);
      }
      return parsed;
    },
  };
}
