import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { sizeHeapForFolding } from './heap.js';
import { projectionsService } from './index.js';

sizeHeapForFolding();
/** The projections service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone. */
void runStandaloneService(projectionsService);
