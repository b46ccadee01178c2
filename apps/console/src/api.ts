import { endSession, type Session } from './session.js';

/** A refusal or failure as the gateway words it: status, error name and the message a person reads. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** JSON over HTTP with the session's bearer token; non-2xx answers become ApiError with the gateway's message. */
export async function api(session: Session | null, method: string, path: string, body?: unknown): Promise<Json> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session !== null) headers['authorization'] = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  const parsed: Json = text === '' ? null : safeJson(text);
  if (response.status === 401 && session !== null) endSession();
  if (!response.ok) {
    const message = describeError(parsed) ?? `${method} ${path} answered ${response.status}`;
    throw new ApiError(response.status, typeof parsed?.error === 'string' ? parsed.error : String(response.status), message, parsed);
  }
  return parsed;
}

function safeJson(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

function describeError(body: Json): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const parts: string[] = [];
  if (typeof body.message === 'string') parts.push(body.message);
  else if (Array.isArray(body.message)) parts.push(body.message.join('; '));
  if (Array.isArray(body.issues)) parts.push(body.issues.map((i: Json) => `${i.field ?? i.path}: ${i.reason ?? i.message}`).join('; '));
  if (Array.isArray(body.reasons)) parts.push(body.reasons.map((r: Json) => r.message ?? r).join('; '));
  if (typeof body.nextAllowedAt === 'string') parts.push(`next allowed: ${body.nextAllowedAt}`);
  return parts.length > 0 ? parts.join(' — ') : undefined;
}

/**
 * Server-sent events over fetch (EventSource cannot send an Authorization header): calls `onEvent`
 * with each message's event name and parsed data until `signal` aborts; reconnects after a dropped connection with the
 * last event id, so nothing is missed or repeated.
 */
export async function streamEvents(session: Session, path: string, onEvent: (name: string, data: Json) => void, signal: AbortSignal, onState?: (state: 'live' | 'reconnecting') => void): Promise<void> {
  let lastEventId: string | null = null;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' };
      if (lastEventId !== null) headers['last-event-id'] = lastEventId;
      const response = await fetch(path, { headers, signal });
      if (!response.ok || response.body === null) throw new ApiError(response.status, 'StreamRefused', `the event stream answered ${response.status}`, null);
      onState?.('live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let data = '';
          let name = 'message';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
            else if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data !== '') onEvent(name, JSON.parse(data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
    }
    onState?.('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

export function formatInstant(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
