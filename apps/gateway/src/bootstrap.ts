import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Clock, offsetClock, systemClock } from '@gatehouse/domain';
import { type AuditableEventStore, createEventStore, startSealer } from '@gatehouse/eventstore';
import { createHttpApp } from '@gatehouse/service-kit';
import type { GatewayConfig } from './config.js';
import { GatewayModule } from './gateway.module.js';
import { GATEWAY_ERROR_STATUS } from './error-status.js';
import { PolicyRegistry } from '@gatehouse/service-kit';

export interface RunningGateway {
  url: string;
  app: NestFastifyApplication;
  store: AuditableEventStore;
  policies: PolicyRegistry;
  clock: Clock;
  /** Where events are stored, for the start banner. */
  storage: string;
  close(): Promise<void>;
}

/** A clock that starts at the pinned instant and then runs, so timers still fire in demos. */
export function clockFor(config: Pick<GatewayConfig, 'GATEHOUSE_CLOCK'>, base: Clock = systemClock): Clock {
  if (!config.GATEHOUSE_CLOCK) return base;
  return offsetClock(base, Date.parse(config.GATEHOUSE_CLOCK) - base.now().getTime());
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const clock = clockFor(config);
  const store = await createEventStore(
    config.DATABASE_URL
      ? { databaseUrl: config.DATABASE_URL, schema: config.GATEHOUSE_DB_SCHEMA }
      : { pgliteDataDir: config.GATEHOUSE_DATA_DIR, schema: config.GATEHOUSE_DB_SCHEMA },
  );
  const storage = config.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${config.GATEHOUSE_DATA_DIR}`;
  const sealer = startSealer(store);
  try {
    const policies = await PolicyRegistry.activateFromDirectory(store, config.GATEHOUSE_POLICIES, clock);
    const app = await createHttpApp(GatewayModule.forRoot({ store, clock, policies, logLevel: config.LOG_LEVEL }), {
      title: 'Gatehouse',
      version: '0.1.0',
      description: 'Release governance control plane: policy evaluation, calendars, the event log and its verification',
      errorStatus: GATEWAY_ERROR_STATUS,
    });
    await app.listen(config.PORT, config.HOST);
    const url = (await app.getUrl()).replace('[::1]', 'localhost');
    return {
      url,
      app,
      store,
      policies,
      clock,
      storage,
      close: async () => {
        await app.close();
        await sealer.stop();
        await store.close();
      },
    };
  } catch (error) {
    await sealer.stop();
    await store.close();
    throw error;
  }
}
