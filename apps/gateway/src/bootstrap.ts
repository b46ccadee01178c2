import { Logger } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Clock, offsetClock, systemClock } from '@gatehouse/domain';
import { type AuditableEventStore, createEventStore, startSealer, withGovernanceTime } from '@gatehouse/eventstore';
import { type ClockControl, controlledClock, createHttpApp, localClockControl, natsClockControl, natsCredentials, type ReadinessCheck, RequestValidationError } from '@gatehouse/service-kit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { GatewayConfig } from './config.js';
import { GatewayModule } from './gateway.module.js';
import { GATEWAY_ERROR_STATUS } from './error-status.js';
import { PolicyRegistry } from '@gatehouse/service-kit';
import { abbreviatePath, authenticatedCommandBus, type CommandBus, type CommandKeys, commandKeysFromConfig, createInProcessCommandBus, createNatsCommandBus, generateCommandKeys, type NatsCommandBus, pathBeyondDepth, USER_SIGNER } from '@gatehouse/bus';
import { startIngestListener } from './ingest/nats-ingest-listener.js';
import { authFor } from './auth/jwt-secret.js';
import { type AuditSigningKey, loadAuditSigningKey } from './audit/signing-key.js';
import { TreeHeadLog } from './audit/tree-heads.js';
import path from 'node:path';
import { DEFAULT_CONSOLE_DIR, serveConsole } from './console/static.js';

export interface RunningGateway {
  url: string;
  app: NestFastifyApplication;
  store: AuditableEventStore;
  policies: PolicyRegistry;
  clock: Clock;
  /** Set when GATEHOUSE_CLOCK_CONTROL=on; in one process the services share `clock`, which it moves. */
  clockControl: ClockControl | null;
  /** The bus lifecycle commands go to; services (or the embedded host) register their handlers on it. */
  commands: CommandBus;
  /** Set when the insecure development JWT secret is in use, for the start banner. */
  insecureJwtSecret: boolean;
  /** The identity provider whose tokens are accepted (GATEHOUSE_OIDC_ISSUER), if any. */
  oidcIssuer: string | undefined;
  /** Set when commands are signed with the published development keys (distributed form without keys configured). */
  insecureCommandKeys: boolean;
  /** Where events are stored, for the start banner. */
  storage: string;
  /** The key that signs tree heads (public half at GET /api/audit/public-key). */
  auditKey: AuditSigningKey;
  /** Signs and records tree heads (periodically, and on POST /api/audit/tree-heads). */
  treeHeads: TreeHeadLog;
  close(): Promise<void>;
}

/** A clock that starts at the pinned instant and then runs, so timers still fire in demos. */
export function clockFor(config: Pick<GatewayConfig, 'GATEHOUSE_CLOCK'>, base: Clock = systemClock): Clock {
  if (!config.GATEHOUSE_CLOCK) return base;
  return offsetClock(base, Date.parse(config.GATEHOUSE_CLOCK) - base.now().getTime());
}

/**
 * Deepest nesting of objects and arrays a request body may have. Well below the bus's own cap
 * (MAX_COMMAND_PAYLOAD_DEPTH), since a body travels inside a command payload; far above any
 * body the API defines. Deeper bodies are what makes recursive code (serialisers, loggers) overflow.
 */
export const MAX_REQUEST_BODY_DEPTH = 20;

/**
 * JSON bodies (and CloudEvents structured mode, `application/cloudevents+json`, which is JSON) are
 * parsed with Fastify's parser (size limit: 413) and then refused with 400 naming the field when
 * nested deeper than {@link MAX_REQUEST_BODY_DEPTH}, before any validation or handler sees them.
 */
function parseJsonWithLimits(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'ignore');
  const parseChecked: typeof parse = (request, body, done) => {
    let parsed: unknown;
    let failure: Error | null = null;
    try {
      parse(request, body, (error: Error | null, value?: unknown) => {
        failure = error;
        parsed = value;
      });
    } catch (error) {
      // A parser that recursed into an absurdly nested body: the same refusal as a too-deep one.
      failure = error instanceof RangeError ? tooDeep('') : (error as Error);
    }
    if (failure !== null) return done(failure, undefined);
    const path = pathBeyondDepth(parsed, MAX_REQUEST_BODY_DEPTH);
    if (path !== undefined) return done(tooDeep(path), undefined);
    done(null, parsed);
  };
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseChecked);
  fastify.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, parseChecked);
}

function tooDeep(path: string): RequestValidationError {
  return new RequestValidationError([{ field: path.split('.')[0] ?? '', reason: `is nested deeper than ${MAX_REQUEST_BODY_DEPTH} levels${path.includes('.') ? ` (at ${abbreviatePath(path)})` : ''}` }]);
}

/** Where the standalone gateway sends commands: the services over NATS when NATS_URL is set, else nowhere but this process. */
export function commandBusFor(config: Pick<GatewayConfig, 'NATS_URL' | 'GATEHOUSE_NATS_PREFIX' | 'NATS_USER' | 'NATS_PASSWORD'>): CommandBus | NatsCommandBus {
  if (!config.NATS_URL) return createInProcessCommandBus();
  return createNatsCommandBus({ servers: config.NATS_URL.split(','), name: 'gatehouse-gateway', subjectPrefix: config.GATEHOUSE_NATS_PREFIX, ...natsCredentials(config) });
}
/**
 * The keys the gateway signs commands with: the caller's (one process shares them with its services),
 * the configured ones when commands go over NATS, else fresh ones (no service can be reached anyway).
 */
function commandKeysFor(config: GatewayConfig, options: StartGatewayOptions): CommandKeys {
  if (options.commandKeys !== undefined) return options.commandKeys;
  if (config.NATS_URL && options.commands === undefined) {
    return commandKeysFromConfig({ name: USER_SIGNER, signingKey: config.GATEHOUSE_COMMAND_SIGNING_KEY, publicKeys: config.GATEHOUSE_COMMAND_PUBLIC_KEYS });
  }
  return generateCommandKeys([USER_SIGNER]);
}


/** CloudEvents CI publishes on `<prefix>.ingest.*` (distributed form), on a connection of their own that reconnects forever. */
async function startNatsIngestion(config: GatewayConfig & { NATS_URL: string }, commands: CommandBus): Promise<{ check: ReadinessCheck; stop(): Promise<void> }> {
  const nc = await connect({ servers: config.NATS_URL.split(','), name: 'gatehouse-gateway-ingest', noAsyncTraces: true, maxReconnectAttempts: -1, ...natsCredentials(config) });
  const nest = new Logger('ingest');
  const log = (level: 'log' | 'warn' | 'error') => (fields: Record<string, unknown>, message: string) => nest[level](`${message} ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
  const logger = { debug: () => undefined, info: log('log'), warn: log('warn'), error: log('error') };
  const listener = startIngestListener(nc, commands, { subjectPrefix: config.GATEHOUSE_NATS_PREFIX, logger });
  await nc.flush();
  return {
    check: { name: 'nats-ingest', check: async () => void (await nc.rtt()) },
    stop: async () => {
      await listener.stop();
      await nc.drain().catch(() => undefined);
    },
  };
}

export interface StartGatewayOptions {
  /** Where lifecycle commands go. @defaultValue `commandBusFor(config)` */
  commands?: CommandBus;
  /** Registry served at /metrics. @defaultValue a new 'gateway' registry */
  metrics?: Registry;
  /** Overrides the configured clock (tests that move time; one-process demos). */
  clock?: Clock;
  /** Keys to sign commands with, shared with services on the same in-process bus. @defaultValue see commandKeysFor */
  commandKeys?: CommandKeys;
}

export async function startGateway(config: GatewayConfig, options: StartGatewayOptions = {}): Promise<RunningGateway> {
  const { commands = commandBusFor(config), metrics } = options;
  // A bus the caller passed in is the caller's to close.
  const closeOwnBus = async (): Promise<void> => {
    if (options.commands === undefined) await commands.close();
  };
  // Services on the caller's bus (one process) share this clock; only services reached over NATS need it published.
  const clockControl = await clockControlFor({ ...config, NATS_URL: options.commands === undefined ? config.NATS_URL : undefined }, options.clock ?? clockFor(config), options.clock ?? systemClock).catch(async (error: unknown) => {
    await closeOwnBus();
    throw error;
  });
  const clock = clockControl?.clock ?? options.clock ?? clockFor(config);
  const auth = authFor(config);
  const commandKeys = commandKeysFor(config, options);
  // Every command leaves signed with the caller the JWT proved; services verify it before handling.
  const signedCommands = authenticatedCommandBus(commands, { keys: commandKeys, name: USER_SIGNER });
  // Events carry the governance time they happened at (metadata.occurredAt) next to the wall-clock recordedAt.
  const store = withGovernanceTime(
    await createEventStore(
      config.DATABASE_URL
        ? { databaseUrl: config.DATABASE_URL, schema: config.GATEHOUSE_DB_SCHEMA }
        : { pgliteDataDir: config.GATEHOUSE_DATA_DIR, schema: config.GATEHOUSE_DB_SCHEMA },
    ),
    () => clock.now(),
  );
  const storage = config.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${config.GATEHOUSE_DATA_DIR}`;
  const sealer = startSealer(store);
  let treeHeads: TreeHeadLog | undefined;
  let ingestion: { check: ReadinessCheck; stop(): Promise<void> } | undefined;
  try {
    const auditKey = await loadAuditSigningKey(config);
    treeHeads = new TreeHeadLog({
      store,
      key: auditKey,
      exportFile: config.GATEHOUSE_TREE_HEAD_FILE ?? path.join(config.GATEHOUSE_DATA_DIR, 'tree-heads.ndjson'),
      onError: (error) => new Logger('audit').warn(`a periodic tree head failed: ${String(error)}`),
      onExportError: (error) => new Logger('audit').error(`a signed tree head could not be written to the tree-head file (GATEHOUSE_TREE_HEAD_FILE): ${String(error)}`),
    });
    const policies = await PolicyRegistry.activateFromDirectory(store, config.GATEHOUSE_POLICIES, clock, config.GATEHOUSE_POLICY_ACTIVATED_BY);
    // The distributed gateway (its own NATS bus): readiness covers every NATS connection it needs, and it ingests over NATS.
    const readinessChecks: ReadinessCheck[] = [];
    const clockReady = clockControl?.ready?.bind(clockControl);
    if (clockReady !== undefined) readinessChecks.push({ name: 'nats-clock', check: clockReady });
    if (options.commands === undefined && config.NATS_URL) {
      const natsCommands = commands as NatsCommandBus;
      readinessChecks.push({ name: 'nats-commands', check: () => natsCommands.ready() });
      ingestion = await startNatsIngestion({ ...config, NATS_URL: config.NATS_URL }, signedCommands);
      readinessChecks.push(ingestion.check);
    }
    const app = await createHttpApp(GatewayModule.forRoot({ store, clock, clockControl, policies, logLevel: config.LOG_LEVEL, commands: signedCommands, auth: { verify: auth.verify, gatehouseTokens: auth.gatehouseTokens, ciInitiatorClaim: config.GATEHOUSE_CI_INITIATOR_CLAIM, ...(auth.oidc === undefined ? {} : { oidc: auth.oidc }) }, audit: { key: auditKey, treeHeads }, readinessChecks, ...(metrics ? { metrics } : {}) }), {
      title: 'Gatehouse',
      version: '0.1.0',
      description: 'Release governance control plane: policy evaluation, calendars, the event log and its verification',
      errorStatus: GATEWAY_ERROR_STATUS,
    });
    // Nest registers its JSON parser during init: replace it afterwards, before the server starts.
    await app.init();
    parseJsonWithLimits(app);
    const consoleServing = await serveConsole(app, config.GATEHOUSE_CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR, {
      connectOrigins: config.GATEHOUSE_OIDC_ISSUER === undefined ? [] : [new URL(config.GATEHOUSE_OIDC_ISSUER).origin],
    });
    if (!consoleServing.served) new Logger('console').warn(`the web console is not served: ${consoleServing.reason}`);
    if (commandKeys.insecure) {
      new Logger('auth').warn('GATEHOUSE_COMMAND_PUBLIC_KEYS is not set: commands are signed with the published DEVELOPMENT keys, which protect nothing');
    }
    if (auth.insecure) {
      new Logger('auth').warn(
        'GATEHOUSE_JWT_SECRET is not set: API tokens are signed with an INSECURE development secret; mint one with: gatehouse token --sub <user> --roles <roles>',
      );
    }
    if (auditKey.source !== 'GATEHOUSE_AUDIT_SIGNING_KEY') {
      const kept = auditKey.source === 'ephemeral' ? `a key that ends with this process (${config.GATEHOUSE_DATA_DIR} is not writable)` : `a development key kept in ${auditKey.source.developmentKeyFile}`;
      new Logger('audit').warn(`GATEHOUSE_AUDIT_SIGNING_KEY is not set: tree heads are signed with ${kept}; set the variable to a key held apart from the database`);
    }
    treeHeads.start(config.GATEHOUSE_TREE_HEAD_INTERVAL_MS);
    await app.listen(config.PORT, config.HOST);
    const url = (await app.getUrl()).replace('[::1]', 'localhost');
    return {
      url,
      app,
      store,
      policies,
      clock,
      clockControl,
      commands,
      insecureJwtSecret: auth.insecure,
      oidcIssuer: auth.oidc?.settings.issuer,
      insecureCommandKeys: commandKeys.insecure,
      storage,
      auditKey,
      treeHeads,
      close: async () => {
        await treeHeads?.stop();
        await app.close();
        await ingestion?.stop();
        await closeOwnBus();
        await clockControl?.close();
        await sealer.stop();
        await store.close();
      },
    };
  } catch (error) {
    await treeHeads?.stop();
    await ingestion?.stop().catch(() => undefined);
    await closeOwnBus();
    await clockControl?.close();
    await sealer.stop();
    await store.close();
    throw error;
  }
}

/**
 * GATEHOUSE_CLOCK_CONTROL=on: a movable clock. With NATS_URL the setting is published to every
 * service process (and kept in JetStream for those that start later); without, it is this process's.
 */
async function clockControlFor(config: Pick<GatewayConfig, 'GATEHOUSE_CLOCK_CONTROL' | 'NATS_URL' | 'GATEHOUSE_NATS_PREFIX' | 'NATS_USER' | 'NATS_PASSWORD'>, base: Clock, reference: Clock): Promise<ClockControl | null> {
  if (config.GATEHOUSE_CLOCK_CONTROL !== 'on') return null;
  // Settings count on the unshifted clock, as they do in every service (see ControlledClock.reference).
  const clock = controlledClock(base, null, reference);
  if (!config.NATS_URL) return localClockControl(clock);
  const nc = await connect({ servers: config.NATS_URL.split(','), name: 'gatehouse-gateway-clock', noAsyncTraces: true, maxReconnectAttempts: -1, ...natsCredentials(config) });
  try {
    const nest = new Logger('clock');
    const logger = { info: (o: object, m: string) => nest.log(`${m} ${JSON.stringify(o)}`), warn: (o: object, m: string) => nest.warn(`${m} ${JSON.stringify(o)}`) };
    const control = await natsClockControl({ nc, jsm: await jetstreamManager(nc), prefix: config.GATEHOUSE_NATS_PREFIX, name: 'gateway', clock, logger });
    const close = async (): Promise<void> => {
      await control.close();
      await nc.drain();
    };
    return { clock: control.clock, set: (setting) => control.set(setting), ready: async () => void (await nc.rtt()), close };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
