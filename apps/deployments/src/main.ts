import 'reflect-metadata';
import { runStandaloneService } from '@gatehouse/service-kit';
import { createDeploymentsService } from './service.js';
import { targetFromEnvironment } from './kubernetes/fromEnvironment.js';

/**
 * The deployments service as its own process: PostgreSQL (DATABASE_URL) + NATS (NATS_URL); see libs/service-kit/src/standalone.
 * KUBECONFIG set: deployments run on the policy's Kubernetes clusters (GATEHOUSE_K8S_NAMESPACE, default 'default').
 * Unset: on the sandbox cluster stand-in; GATEHOUSE_SANDBOX_STATE (a file path) keeps its state across restarts.
 */
void runStandaloneService(createDeploymentsService({ target: targetFromEnvironment(process.env) }));
