import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { approvalsService } from './index.js';

/** The approvals service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone. */
void runStandaloneService(approvalsService);
