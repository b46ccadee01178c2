/**
 * A Gatehouse API client for end-to-end tests: tokens per user, JSON calls, the clock (moved through
 * PUT /api/admin/clock) and polling helpers. The clock stays stopped between moves.
 */
import { SignJWT } from 'jose';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
export type Json = any;
export interface Reply {
  status: number;
  body: Json;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** Who the scenarios act as: a user per role, and an auditor for the event log. */
export const CAST: Record<string, string[]> = {
  ana: ['developer'],
  rui: ['code_reviewer'],
  tess: ['tech_lead'],
  sam: ['sre'],
  dora: ['dba'],
  val: ['vp_engineering'],
  rel: ['release_engineer'],
  aud: ['auditor'],
  qa: ['qa'],
};

/** The post-deployment checks the seed policies name for staging and production (deploy/policies, `postDeploymentValidation`). */
export const SEED_VALIDATION_CHECKS: readonly string[] = ['smoke', 'integration'];

/**
 * What CI posts to `POST /api/ingest` once a change deployed and its post-deployment checks ran: one
 * `gatehouse.validation.result` CloudEvent per check (ids derived from the change, so a repeat is a duplicate).
 */
export function validationResults(changeRequestId: string, checks: readonly string[] = SEED_VALIDATION_CHECKS, status: 'passed' | 'failed' = 'passed'): Json[] {
  return checks.map((check) => ({
    specversion: '1.0',
    id: `validation-${changeRequestId}-${check}`,
    source: 'ci/post-deployment',
    type: 'gatehouse.validation.result',
    data: { changeRequestId, check, status },
  }));
}

/** How often a test's stand-in metric source scrapes (see `advanceUntilStatus`'s `scrape`). */
export const SCRAPE_INTERVAL_MS = 5 * MINUTE;

/** A service in an environment whose health a stand-in metric source reports while the clock moves. */
export interface ScrapeTarget {
  service: string;
  environment: string;
}

export interface ClientOptions {
  /** Real time the services get to react after each clock move (the harness's timers poll every 200 ms). @defaultValue 600 */
  settleMs?: number;
}

export class GatehouseClient {
  private readonly tokens = new Map<string, string>();
  private clockMs: number;
  readonly settleMs: number;

  constructor(
    readonly url: string,
    private readonly jwtSecret: string,
    startAt: string,
    options: ClientOptions = {},
  ) {
    this.clockMs = Date.parse(startAt);
    this.settleMs = options.settleMs ?? 600;
  }

  /** The system's time as this client last set it. */
  get now(): Date {
    return new Date(this.clockMs);
  }

  async token(user: string, roles: string[] = CAST[user] ?? []): Promise<string> {
    const key = `${user}:${roles.join(',')}`;
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = await new SignJWT({ roles, name: user })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setIssuedAt()
        // Tokens are checked against wall time; the system's clock may be weeks ahead.
        .setExpirationTime('2h')
        .sign(new TextEncoder().encode(this.jwtSecret));
      this.tokens.set(key, token);
    }
    return token;
  }

  /** One request as `user` (undefined: no Authorization header). Bodies other than objects are sent raw. */
  async call(method: string, url: string, user: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const raw = typeof body === 'string' || body instanceof Uint8Array;
    const response = await fetch(`${this.url}${url}`, {
      method,
      headers: {
        ...(user === undefined ? {} : { authorization: `Bearer ${await this.token(user)}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: raw ? (body as string) : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: Json = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  }

  /** The call, which must succeed (2xx); otherwise throws with the answer. */
  async ok(method: string, url: string, user: string, body?: unknown, headers?: Record<string, string>): Promise<Json> {
    const reply = await this.call(method, url, user, body, headers);
    if (reply.status < 200 || reply.status >= 300) throw new Error(`${method} ${url} as ${user} → ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  /** Moves the whole system's clock (stopped at `at`); returns which processes applied it. */
  async setClock(at: Date | string): Promise<string[]> {
    const iso = new Date(at).toISOString();
    const reply = await this.ok('PUT', '/api/admin/clock', 'rel', { at: iso, running: false });
    this.clockMs = Date.parse(iso);
    return reply.appliedBy as string[];
  }

  async advance(ms: number): Promise<void> {
    await this.setClock(new Date(this.clockMs + ms));
  }

  /** Every event of a stream, as an auditor reads it. */
  async events(streamId: string): Promise<Json[]> {
    return (await this.ok('GET', `/api/streams/${encodeURIComponent(streamId)}`, 'aud')).events;
  }

  async eventTypes(streamId: string): Promise<string[]> {
    return (await this.events(streamId)).map((e: Json) => e.type as string);
  }

  /** Every event of a type in the global log (pages through it). */
  async eventsOfType(type: string): Promise<Json[]> {
    const found: Json[] = [];
    let after = '0';
    for (;;) {
      const page = await this.ok('GET', `/api/events?type=${encodeURIComponent(type)}&limit=1000&after=${after}`, 'aud');
      found.push(...page.events);
      if (page.next === null || page.events.length === 0) return found;
      after = page.next;
    }
  }

  async changeStatus(changeRequestId: string): Promise<string> {
    return (await this.ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.status;
  }

  /** Polls (real time, clock untouched) until `probe` returns a value other than undefined/false. */
  async waitFor<T>(describe: string, probe: () => Promise<T | undefined | false>, { timeoutMs = 30_000, intervalMs = 100 } = {}): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${describe}${last ? ` (last error: ${String(last)})` : ''}`);
      await sleep(intervalMs);
    }
  }

  /**
   * Pushes one healthy error_rate sample per SCRAPE_INTERVAL_MS in (`from`, now], as a metric source that scraped
   * the service meanwhile would. Refused (422 NoActiveWatchError) when nothing is watched there: nothing to report then.
   */
  async scrapeHealthy({ service, environment }: ScrapeTarget, from: number): Promise<void> {
    const samples = [];
    for (let at = from + SCRAPE_INTERVAL_MS; at <= this.clockMs; at += SCRAPE_INTERVAL_MS) samples.push({ metric: 'error_rate', at: new Date(at).toISOString(), value: 0.001 });
    if (samples.length === 0) return;
    const reply = await this.call('POST', '/api/metrics/samples', 'sam', { service, environment, samples });
    if (reply.status !== 200 && reply.body?.error !== 'NoActiveWatchError') throw new Error(`samples refused: ${reply.status} ${JSON.stringify(reply.body)}`);
  }

  /**
   * Reports the change's post-deployment checks passed, as CI does after a deployment (`validationResults` on the
   * ingest endpoint with a CI, release engineer, token).
   */
  async publishValidation(changeRequestId: string, checks: readonly string[] = SEED_VALIDATION_CHECKS, user = 'rel'): Promise<void> {
    for (const event of validationResults(changeRequestId, checks)) await this.ok('POST', '/api/ingest', user, event);
  }

  /**
   * Moves the clock in steps of `step`, letting the services react after each, until the change
   * reaches `status` (or one of them); throws with the deployment's and watch's history when `limit` of clock time passes.
   * `scrape`: healthy samples are pushed for that service after each step (environments that analyse canary steps
   * and watches pause a rollout that saw too few samples).
   * `validation`: once the change is validating, these post-deployment checks are reported passed (`publishValidation`),
   * as CI does after a deployment; environments whose policy names checks validate a change only with them.
   */
  async advanceUntilStatus(
    changeRequestId: string,
    status: string | string[],
    { step = 5 * MINUTE, limit = 3 * 24 * HOUR, scrape, validation }: { step?: number; limit?: number; scrape?: ScrapeTarget; validation?: readonly string[] } = {},
  ): Promise<void> {
    const start = this.clockMs;
    const wanted = Array.isArray(status) ? status : [status];
    let unreported = validation;
    for (;;) {
      // Give the services a moment at this instant before moving on.
      const reached = await this.waitFor(`${changeRequestId} → ${wanted.join('|')}`, async () => wanted.includes(await this.changeStatus(changeRequestId)), { timeoutMs: this.settleMs, intervalMs: 100 }).then(
        () => true,
        () => false,
      );
      if (reached) return;
      // Deployed: CI runs the post-deployment checks and reports them, at this instant.
      if (unreported !== undefined && (await this.changeStatus(changeRequestId)) === 'validating') {
        await this.publishValidation(changeRequestId, unreported);
        unreported = undefined;
        continue;
      }
      if (this.clockMs - start > limit) {
        const current = await this.changeStatus(changeRequestId);
        const streams = ['approval', 'schedule', 'deployment', 'watch'].map((category) => `${category}-${changeRequestId}`);
        const history = (await Promise.all(streams.map((stream) => this.events(stream)))).flat().map((e: Json) => `${e.type} ${JSON.stringify(e.data).slice(0, 200)}`);
        throw new Error(`change ${changeRequestId} stuck in '${current}' at ${this.now.toISOString()}, wanted '${wanted.join('|')}':\n${history.join('\n')}`);
      }
      const before = this.clockMs;
      await this.advance(step);
      if (scrape !== undefined) await this.scrapeHealthy(scrape, before);
    }
  }
}
