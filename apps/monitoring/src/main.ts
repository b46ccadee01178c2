import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { monitoringService } from './index.js';

/** The monitoring service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone. */
void runStandaloneService(monitoringService);
