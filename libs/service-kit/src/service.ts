/**
 * The shape every Gatehouse service (change-requests, approvals, scheduling, deployments,
 * monitoring, projections) is written to. A service is a definition that, given a context,
 * starts its command handlers and process managers (`nestService`: a Nest module whose controllers
 * declare them, served by `GatehouseTransport`); hosts decide the transport:
 * NATS + PostgreSQL when distributed, the in-process bus + PGlite when embedded.
 */
import type { CommandBus, EventConsumerFactory } from '@gatehouse/bus';
import type { Clock } from '@gatehouse/domain';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Registry } from 'prom-client';
import type { PolicyRegistry } from './policy/policy-registry.js';

/** Structured logger (pino-compatible subset) so services log JSON with correlation ids. */
export interface ServiceLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

export interface ServiceContext {
  /** The service's name, e.g. "approvals": the NATS command context and the metrics label. */
  readonly name: string;
  readonly store: AuditableEventStore;
  /** Commands: register this service's handlers; send commands to other services. */
  readonly commands: CommandBus;
  /** Durable event subscriptions for process managers and projections. */
  readonly events: EventConsumerFactory;
  /** The one clock every time-dependent rule reads. */
  readonly clock: Clock;
  readonly policies: PolicyRegistry;
  readonly metrics: Registry;
  readonly logger: ServiceLogger;
  /**
   * How often timer loops (due deployments, step analysis, watch ends, hotfix deadlines) look at the
   * clock, in ms; unset: each service's own default (1 s). Tests that move the clock set it lower.
   */
  readonly tickIntervalMs?: number;
}

/** A started service; stop() unregisters handlers and stops consumers, leaving checkpoints durable. */
export interface RunningService {
  stop(): Promise<void>;
}

export interface ServiceDefinition {
  readonly name: string;
  start(context: ServiceContext): Promise<RunningService>;
}
