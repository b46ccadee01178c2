/**
 * Test harness for the change-requests and approvals integration tests: both services (and any fakes)
 * on the embedded host, an in-memory store, the repository's policies and a settable clock.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallerIdentity } from '@gatehouse/bus';
import { settableClock, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, ANY, START, type StoredEvent } from '@gatehouse/eventstore';
import { type EmbeddedHost, PolicyRegistry, type ServiceDefinition, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';

export const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');

export interface Harness {
  store: AuditableEventStore;
  clock: SettableClock;
  host: EmbeddedHost;
  policyVersion: string;
  /** Warnings the services logged (process-manager refusals). */
  warnings: Array<{ fields: Record<string, unknown>; message: string }>;
  send<T = unknown>(context: string, command: string, payload: unknown): Promise<T>;
  events(streamId: string): Promise<StoredEvent[]>;
  types(streamId: string): Promise<string[]>;
  /** Appends events as another context would (deployments, monitoring, scheduling). */
  publish(streamId: string, type: string, data: unknown, actor?: string): Promise<StoredEvent>;
  /**
   * Stops the services, rewinds these durable consumers to the start of the log and starts the services
   * again on the same store: every event is delivered to them a second time. Resolves once they caught up.
   */
  redeliverEverything(consumers: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  services: readonly ServiceDefinition[],
  at: string,
  createStore: () => AuditableEventStore | Promise<AuditableEventStore> = createInMemoryEventStore,
): Promise<Harness> {
  const store = await createStore();
  const clock = settableClock(at);
  const warnings: Harness['warnings'] = [];
  const logger: ServiceLogger = { info: () => {}, debug: () => {}, error: (fields, message) => warnings.push({ fields, message }), warn: (fields, message) => warnings.push({ fields, message }) };
  const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
  const start = () => startEmbeddedServices(services, { store, clock, policies, logger, pollIntervalMs: 5 });
  let host = await start();
  return {
    store,
    clock,
    get host() {
      return host;
    },
    policyVersion: policies.current.policyVersion,
    warnings,
    send: (context, command, payload) => {
      const { caller, rest } = signedCallerOf(payload);
      return host.commandsAs(caller).send(context, command, rest);
    },
    events: (streamId) => store.readStream(streamId),
    types: async (streamId) => (await store.readStream(streamId)).map((e) => e.type),
    publish: async (streamId, type, data, actor = 'test') => {
      const { events } = await store.appendToStream(streamId, [{ type, data, metadata: { actor, correlationId: `corr-${streamId}` } }], { expectedVersion: ANY });
      return events[0]!;
    },
    redeliverEverything: async (consumers) => {
      await host.stop();
      for (const name of consumers) await store.storeCheckpoint(name, START);
      host = await start();
      let head = START;
      for await (const event of store.readAll()) head = event.globalPosition;
      await waitFor(async () => {
        for (const name of consumers) if (((await store.readCheckpoint(name)) ?? START) < head) return false;
        return true;
      }, 'the rewound consumers to catch up');
    },
    stop: async () => {
      await host.stop();
      await store.close();
    },
  };
}

/**
 * Tests name who acts the way the gateway used to put it in payloads (`actor`, `approver`, `approverRoles`);
 * the services now trust only the signed caller, so the harness signs as that person, as the gateway would
 * from their token, and sends the payload without the approver fields.
 */
function signedCallerOf(payload: unknown): { caller: CallerIdentity; rest: unknown } {
  if (typeof payload !== 'object' || payload === null) return { caller: { subject: 'test', roles: [] }, rest: payload };
  const { approver, approverRoles, setBy, setterRoles, ...rest } = payload as { approver?: string; approverRoles?: string[]; setBy?: string; setterRoles?: string[]; actor?: string };
  return { caller: { subject: approver ?? setBy ?? rest.actor ?? 'test', roles: approverRoles ?? setterRoles ?? [] }, rest };
}

export async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the stream holds an event of this type and returns the last one. */
export async function eventually(h: Harness, streamId: string, type: string): Promise<StoredEvent> {
  await waitFor(async () => (await h.types(streamId)).includes(type), `${type} on ${streamId}`);
  return (await h.events(streamId)).filter((e) => e.type === type).at(-1)!;
}

export const commandId = (): string => randomUUID();

export function releasePayload(releaseId: string, version = '2.1.0', actor = 'rita') {
  return {
    commandId: commandId(),
    actor,
    releaseId,
    release: { service: 'campaign-api', version, type: 'minor', title: `Campaign API ${version}`, changes: [{ kind: 'feature', description: 'Campaign scheduling with time zones' }] },
  };
}

export function submitPayload(changeRequestId: string, options: { environment: string; planned: string; releaseId?: string; author?: string; kind?: 'standard' | 'normal' | 'emergency'; includesMigration?: boolean }) {
  const author = options.author ?? 'alice';
  return {
    commandId: commandId(),
    actor: author,
    changeRequestId,
    kind: options.kind ?? 'normal',
    draft: {
      title: 'Ship campaign scheduling',
      description: 'Deploy the release that adds time-zone aware campaign scheduling',
      type: 'enhancement',
      priority: 'medium',
      impact: 'medium',
      risk: 'medium',
      environments: [options.environment],
      schedule: { planned: options.planned, duration: 60 },
      implementationPlan: 'Canary through the deployment pipeline',
      rollbackPlan: 'Shift traffic back to blue',
      testingPlan: 'Integration and E2E gates in staging',
      runbookRef: 'https://runbooks.example.com/campaign-api',
      ...(options.releaseId === undefined ? {} : { releaseId: options.releaseId }),
      includesMigration: options.includesMigration ?? false,
      author,
    },
  };
}

/** Given: the release already deployed successfully to these environments (its own stream, as earlier changes left it). */
export async function givenDeployed(h: Harness, releaseId: string, environments: readonly string[]): Promise<void> {
  const at = h.clock.now().toISOString();
  const events = [
    { type: 'ReleaseApproved', data: { releaseId, approvalId: `earlier-${releaseId}`, revision: 1, approvedAt: at } },
    ...environments.flatMap((environment) => {
      const deploymentId = `dep-${releaseId}-${environment}`;
      return [
        {
          type: 'ReleaseDeploymentStarted',
          data: { releaseId, deploymentId, service: 'campaign-api', version: '2.1.0', environment, lane: 'normal', promotion: null, startedBy: 'deployments', startedAt: at },
        },
        { type: 'ReleaseDeploymentSucceeded', data: { releaseId, deploymentId, environment, version: '2.1.0', completedAt: at } },
      ];
    }),
  ];
  await h.store.appendToStream(`release-${releaseId}`, events.map((e) => ({ ...e, metadata: { actor: 'test-setup' } })), { expectedVersion: ANY });
}

/** The testing gates deploy/policies lists per environment (the command refuses an id the policy does not list). */
const POLICY_GATES: Record<string, readonly string[]> = { development: ['unit-tests'], production: ['integration-tests', 'e2e-tests', 'performance-tests', 'security-tests'] };

/** CI reported every testing gate of the environment passed for the release: a deployment there may start. */
export async function givenGatesPassed(h: Harness, releaseId: string, environment: string): Promise<void> {
  const at = h.clock.now().toISOString();
  for (const gateId of POLICY_GATES[environment] ?? []) {
    await h.send('changeRequests', 'recordGateResult', { commandId: commandId(), actor: 'ci', releaseId, environment, gateId, status: 'passed', startedAt: at, finishedAt: at });
  }
}
