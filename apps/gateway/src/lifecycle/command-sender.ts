import { createHash, randomUUID } from 'node:crypto';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { BusUnavailableError, type CallerIdentity, type CommandBus, CommandFailedError, CommandTimeoutError, NoResponderError } from '@gatehouse/bus';
import { METRICS_REGISTRY } from '@gatehouse/service-kit';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/jwt.js';
import { httpErrorForBusFailure } from './bus-errors.js';

/** Injection token of the gateway's command bus (in-process in embedded mode, NATS otherwise). */
export const COMMAND_BUS = Symbol('COMMAND_BUS');

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;
/** How long an Idempotency-Key's outcome is remembered by this gateway replica. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Bound on remembered keys; the oldest are forgotten first (services still dedupe by commandId). */
export const IDEMPOTENCY_MAX_ENTRIES = 10_000;

/** What the gateway adds to every command payload. */
export interface CommandEnvelope {
  commandId: string;
  actor: string;
  correlationId: string;
}

interface Remembered {
  fingerprint: string;
  expiresAt: number;
  outcome: Promise<{ ok: true; result: unknown } | { ok: false; error: unknown }>;
}

/**
 * Sends commands on behalf of HTTP callers. The command id is the client's Idempotency-Key (scoped to
 * the caller) or a fresh UUID; a retried key returns the first outcome without sending again, and a
 * key reused for a different request is refused (422).
 */
@Injectable()
export class CommandSender {
  private readonly remembered = new Map<string, Remembered>();
  private readonly sent: Counter<'command' | 'outcome'>;
  private readonly latency: Histogram<'command'>;

  constructor(
    @Inject(COMMAND_BUS) private readonly bus: CommandBus,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.sent = new Counter({
      name: 'gatehouse_gateway_commands_total',
      help: 'Commands the gateway sent, by command and outcome (ok, refused by the service, unavailable, error)',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'gatehouse_gateway_command_duration_seconds',
      help: 'Round trip of a command from the gateway to its service and back',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  async send<Result = unknown>(
    request: FastifyRequest,
    principal: Principal,
    target: { context: string; command: string },
    build: (envelope: CommandEnvelope) => Record<string, unknown>,
  ): Promise<Result> {
    const key = idempotencyKeyOf(request);
    const envelope: CommandEnvelope = {
      commandId: key === undefined ? randomUUID() : scopedCommandId(principal.sub, target, key),
      actor: principal.sub,
      correlationId: String(request.id),
    };
    const payload = build(envelope);
    // The services trust this identity only because the bus signs it; nothing in the payload speaks for the caller.
    const caller: CallerIdentity = { subject: principal.sub, roles: principal.roles };
    if (key === undefined) return this.dispatch<Result>(target, payload, caller);

    this.forgetExpired();
    const fingerprint = fingerprintOf(target, { ...payload, correlationId: undefined });
    const previous = this.remembered.get(envelope.commandId);
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) {
        throw new HttpException(
          { error: 'IdempotencyKeyReused', message: `Idempotency-Key '${key}' was already used for a different request; use a new key` },
          HttpStatus.UNPROCESSABLE_ENTITY,
        );
      }
      const outcome = await previous.outcome;
      if (outcome.ok) return outcome.result as Result;
      throw outcome.error;
    }
    const outcome = this.dispatch<Result>(target, payload, caller).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    this.remembered.set(envelope.commandId, { fingerprint, expiresAt: Date.now() + IDEMPOTENCY_TTL_MS, outcome });
    const settled = await outcome;
    // A 5xx (bus or database down, service failing) says nothing about what happened: remember only
    // answers, so a retry with the same key is sent for real (services dedupe by command id).
    if (!settled.ok && !isAnswer(settled.error)) this.remembered.delete(envelope.commandId);
    if (settled.ok) return settled.result;
    throw settled.error;
  }

  /**
   * Sends without HTTP idempotency (ingestion brings its own deterministic command ids), signed as
   * `caller` (@defaultValue the gateway itself, for queries made on no one's behalf); `timeoutMs` for the few
   * commands that take longer than the bus's default (a read-model rebuild).
   */
  async dispatch<Result = unknown>(target: { context: string; command: string }, payload: Record<string, unknown>, caller?: CallerIdentity, timeoutMs?: number): Promise<Result> {
    const command = `${target.context}.${target.command}`;
    const stopTimer = this.latency.startTimer({ command });
    try {
      const result = await this.bus.send<Result>(target.context, target.command, payload, { ...(caller === undefined ? {} : { caller }), ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      this.sent.inc({ command, outcome: 'ok' });
      return result;
    } catch (error) {
      this.sent.inc({ command, outcome: outcomeOf(error) });
      throw httpErrorForBusFailure(error, target.context);
    } finally {
      stopTimer();
    }
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, entry] of this.remembered) {
      if (entry.expiresAt > now && this.remembered.size < IDEMPOTENCY_MAX_ENTRIES) break;
      this.remembered.delete(id);
    }
  }
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined || !IDEMPOTENCY_KEY.test(key)) {
    throw new HttpException(
      { error: 'ValidationError', message: 'Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 . _ : -', issues: [{ field: 'Idempotency-Key', reason: 'malformed' }] },
      HttpStatus.BAD_REQUEST,
    );
  }
  return key;
}

/** Deterministic per (caller, command, key), so two users' keys never collide and a retry maps to the same command. */
function scopedCommandId(actor: string, target: { context: string; command: string }, key: string): string {
  const hash = createHash('sha256').update(`${actor}\u0000${target.context}.${target.command}\u0000${key}`).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-a${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

function fingerprintOf(target: { context: string; command: string }, payload: Record<string, unknown>): string {
  return createHash('sha256').update(`${target.context}.${target.command}:${JSON.stringify(payload)}`).digest('hex');
}

function outcomeOf(error: unknown): 'refused' | 'unavailable' | 'error' {
  if (error instanceof CommandFailedError) return error.remoteName === 'StoreUnavailableError' ? 'unavailable' : 'refused';
  if (error instanceof NoResponderError || error instanceof CommandTimeoutError || error instanceof BusUnavailableError) return 'unavailable';
  return 'error';
}

/** A definite answer to the command (a result or a 4xx refusal), as opposed to a failure to get one. */
function isAnswer(error: unknown): boolean {
  return error instanceof HttpException && error.getStatus() < HttpStatus.INTERNAL_SERVER_ERROR;
}
