import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { changeRequestsService } from './index.js';

/** The change-requests service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone. */
void runStandaloneService(changeRequestsService);
