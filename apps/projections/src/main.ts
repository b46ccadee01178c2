import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { projectionsService } from './index.js';

/** The projections service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone. */
void runStandaloneService(projectionsService);
