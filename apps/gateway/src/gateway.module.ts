import { type DynamicModule, Module } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { CommandBus } from '@gatehouse/bus';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Clock } from '@gatehouse/domain';
import { createMetricsRegistry, HealthModule, loggingModule, MetricsModule, type ReadinessCheck } from '@gatehouse/service-kit';
import { AuditController } from './audit/audit.controller.js';
import { PolicyController } from './policy/policy.controller.js';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import { CLOCK, CLOCK_CONTROL, EVENT_STORE, POLICY_REGISTRY } from './tokens.js';
import type { ClockControl } from '@gatehouse/service-kit';
import { ClockController } from './admin/clock.controller.js';
import { DeadLettersController } from './admin/dead-letters.controller.js';
import { ReadModelsController } from './admin/read-models.controller.js';
import type { AuthOptions } from './auth/auth.guard.js';
import { AuthController } from './auth/auth.controller.js';
import { LIFECYCLE_CONTROLLERS, lifecycleProviders } from './lifecycle/lifecycle.module.js';
import { HotfixController } from './lifecycle/hotfix.controller.js';
import { AUDIT_SIGNING_KEY, AuditKeyController, TREE_HEAD_LOG, TreeHeadController } from './audit/tree-head.controller.js';
import type { AuditSigningKey } from './audit/signing-key.js';
import { StoryController } from './audit/story.controller.js';
import type { TreeHeadLog } from './audit/tree-heads.js';
import { AuditReportsController } from './audit/reports.controller.js';
import { registerDoraGauges } from './audit/dora-metrics.js';
import { ConsoleController } from './console/console.controller.js';
import { ChangeStreamController, EVENT_FEED } from './console/change-stream.controller.js';
import { EventFeed } from './console/event-feed.js';
import { PublicController } from './console/public.controller.js';

export interface GatewayDependencies {
  /** Registry served at /metrics; in one-process mode the services register on it too. @defaultValue a new 'gateway' registry */
  metrics?: Registry;
  store: AuditableEventStore;
  clock: Clock;
  policies: PolicyRegistry;
  logLevel: string;
  /** Where lifecycle commands go: the services' command bus (in-process when embedded, NATS otherwise). */
  commands: CommandBus;
  auth: AuthOptions;
  /** Set when GATEHOUSE_CLOCK_CONTROL=on: PUT /api/admin/clock moves every process's clock. */
  clockControl?: ClockControl | null;
  /** Signed tree heads: the key that signs them and the log that records them. */
  audit: { key: AuditSigningKey; treeHeads: TreeHeadLog };
  /** Further connections /health/ready checks besides the event store (the NATS ones in the distributed form). */
  readinessChecks?: ReadinessCheck[];
}

@Module({})
export class GatewayModule {
  static forRoot({ store, clock, policies, logLevel, commands, auth, audit, clockControl = null, metrics = createMetricsRegistry('gateway'), readinessChecks = [] }: GatewayDependencies): DynamicModule {
    registerDoraGauges(metrics, store, clock);
    return {
      module: GatewayModule,
      imports: [
        loggingModule('gateway', logLevel),
        MetricsModule.forRoot(metrics),
        HealthModule.forRoot([{ name: 'eventstore', check: async () => void (await store.readCheckpoint('health-probe')) }, ...readinessChecks]),
      ],
      controllers: [AuthController, PolicyController, AuditController, ...LIFECYCLE_CONTROLLERS, HotfixController, ClockController, AuditKeyController, TreeHeadController, StoryController, DeadLettersController, ReadModelsController, AuditReportsController, ConsoleController, ChangeStreamController, PublicController],
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: CLOCK, useValue: clock },
        { provide: CLOCK_CONTROL, useValue: clockControl },
        { provide: POLICY_REGISTRY, useValue: policies },
        { provide: AUDIT_SIGNING_KEY, useValue: audit.key },
        { provide: TREE_HEAD_LOG, useValue: audit.treeHeads },
        { provide: EVENT_FEED, useValue: new EventFeed(store) },
        ...lifecycleProviders({ commands, auth }),
      ],
    };
  }
}
