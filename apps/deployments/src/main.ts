import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { createDeploymentsService } from './deploymentsService.js';
import { SandboxTarget } from './target.js';

/**
 * The deployments service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone.
 * Its target is the sandbox cluster stand-in; GATEHOUSE_SANDBOX_STATE (a file path) keeps that stand-in's state across restarts.
 */
const stateFile = process.env['GATEHOUSE_SANDBOX_STATE'];
void runStandaloneService(createDeploymentsService({ target: (ctx) => new SandboxTarget({ clock: ctx.clock, ...(stateFile ? { stateFile } : {}) }) }));
