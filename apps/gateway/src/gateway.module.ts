import { type DynamicModule, Module } from '@nestjs/common';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Clock } from '@gatehouse/domain';
import { createMetricsRegistry, HealthModule, loggingModule, MetricsModule } from '@gatehouse/service-kit';
import { AuditController } from './audit/audit.controller.js';
import { PolicyController } from './policy/policy.controller.js';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import { CLOCK, EVENT_STORE, POLICY_REGISTRY } from './tokens.js';

export interface GatewayDependencies {
  store: AuditableEventStore;
  clock: Clock;
  policies: PolicyRegistry;
  logLevel: string;
}

@Module({})
export class GatewayModule {
  static forRoot({ store, clock, policies, logLevel }: GatewayDependencies): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        loggingModule('gateway', logLevel),
        MetricsModule.forRoot(createMetricsRegistry('gateway')),
        HealthModule.forRoot([{ name: 'eventstore', check: async () => void (await store.readCheckpoint('health-probe')) }]),
      ],
      controllers: [PolicyController, AuditController],
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: CLOCK, useValue: clock },
        { provide: POLICY_REGISTRY, useValue: policies },
      ],
    };
  }
}
