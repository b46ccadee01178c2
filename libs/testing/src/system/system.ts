/**
 * A running Gatehouse for end-to-end tests and benchmarks, reached only through its HTTP API:
 * - distributed: the gateway, the six services and the outbox relay, each its own process, over
 *   PostgreSQL (a fresh schema) and NATS JetStream (fresh subject prefix and streams);
 * - embedded: what `npm start` runs (one process, PGlite in a fresh data folder, in-process bus).
 * Both start with clock control on and the clock stopped at `startAt`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { natsUrl } from '../nats.js';
import { testDatabaseUrl } from '../postgres.js';
import { entryPoint, freePort, type ManagedProcess, REPO_ROOT, startProcess } from './processes.js';

export const SERVICE_NAMES = ['change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export type ProcessName = ServiceName | 'gateway' | 'relay' | 'gatehouse';

export interface SystemOptions {
  /** Where the clock starts (stopped); move it with PUT /api/admin/clock. */
  startAt: string;
  /** @defaultValue a random secret */
  jwtSecret?: string;
  /** @defaultValue 'warn' (DEBUG_E2E=1: 'info') */
  logLevel?: string;
  /** Kept after close when set (DEBUG_E2E=1 keeps them anyway). */
  keepLogs?: boolean;
  /** Extra node options per process, e.g. `{ 'change-requests': ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] }`. */
  nodeArgs?: Partial<Record<ProcessName, string[]>>;
  /** PostgreSQL of the distributed form (e.g. a cluster of the test's own). @defaultValue `testDatabaseUrl()` */
  databaseUrl?: string;
  /** NATS of the distributed form (e.g. a server of the test's own). @defaultValue `natsUrl()` */
  natsUrl?: string;
}

export interface GatehouseSystem {
  readonly kind: 'distributed' | 'embedded';
  /** Base URL of the gateway. */
  readonly url: string;
  readonly jwtSecret: string;
  /** Folder of every process's log file (`<name>.log`). */
  readonly logDir: string;
  /** The stand-in cluster's state file (distributed form): `SandboxTarget.operationsIn` reads what it was asked to do. */
  readonly sandboxStateFile: string | undefined;
  readonly processes: ReadonlyMap<ProcessName, ManagedProcess>;
  process(name: ProcessName): ManagedProcess;
  /** Counts the events in the store directly (bypassing the API), to prove a refusal wrote nothing. */
  countEvents(): Promise<number>;
  /** Messages in the JetStream event stream and its dead-letter stream (distributed form). */
  countPublished(): Promise<{ events: number; deadLetters: number }>;
  /** What the dead-letter stream holds (distributed form): each message's subject, reason and error, to say why a reaction was lost. */
  deadLetters(): Promise<Array<{ subject: string; reason: string | undefined; error: string | undefined }>>;
  close(): Promise<void>;
}

const POLICIES = path.join(REPO_ROOT, 'deploy', 'policies');
/** The services' timer loops look at the clock this often (1 s by default), so tests that move it wait less. */
export const TICK_INTERVAL_MS = 200;
const debug = (): boolean => process.env['DEBUG_E2E'] === '1';

function common(options: SystemOptions) {
  return {
    jwtSecret: options.jwtSecret ?? randomBytes(24).toString('hex'),
    logLevel: options.logLevel ?? (debug() ? 'info' : 'warn'),
  };
}

function lookup(processes: ReadonlyMap<ProcessName, ManagedProcess>) {
  return (name: ProcessName): ManagedProcess => {
    const found = processes.get(name);
    if (found === undefined) throw new Error(`no process named ${name} in this system (${[...processes.keys()].join(', ')})`);
    return found;
  };
}

/** Every service, the relay and the gateway as separate processes over PostgreSQL and NATS. */
export async function startDistributedGatehouse(options: SystemOptions): Promise<GatehouseSystem> {
  const { jwtSecret, logLevel } = common(options);
  const id = randomBytes(4).toString('hex');
  const logDir = await mkdtemp(path.join(tmpdir(), `gatehouse-e2e-${id}-`));
  const databaseUrl = options.databaseUrl ?? testDatabaseUrl();
  const nats = options.natsUrl ?? natsUrl();
  const schema = `e2e_${id}`;
  const prefix = `e2e-${id}`;
  const streams = { events: `E2E_${id.toUpperCase()}_EVENTS`, deadLetters: `E2E_${id.toUpperCase()}_DLQ` };
  const sandboxStateFile = path.join(logDir, 'sandbox-cluster.json');
  const shared: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    GATEHOUSE_DB_SCHEMA: schema,
    NATS_URL: nats,
    GATEHOUSE_NATS_PREFIX: prefix,
    GATEHOUSE_EVENT_STREAM: streams.events,
    GATEHOUSE_DLQ_STREAM: streams.deadLetters,
    GATEHOUSE_POLICIES: POLICIES,
    GATEHOUSE_CLOCK: options.startAt,
    GATEHOUSE_CLOCK_CONTROL: 'on',
    GATEHOUSE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
    LOG_LEVEL: logLevel,
  };
  const processes = new Map<ProcessName, ManagedProcess>();
  const spec = async (name: ProcessName, app: string, env: Record<string, string> = {}) => ({
    name,
    entry: entryPoint(app),
    env: { ...shared, ...env },
    port: await freePort(),
    logFile: path.join(logDir, `${name}.log`),
    startTimeoutMs: 120_000,
    ...(options.nodeArgs?.[name] ? { nodeArgs: options.nodeArgs[name] } : {}),
  });

  const cleanUp = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((p) => p.stop().catch(() => undefined)));
    const nc = await connect({ servers: nats });
    try {
      const jsm = await jetstreamManager(nc);
      for (const stream of [streams.events, streams.deadLetters, `${prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_CLOCK`]) await jsm.streams.delete(stream).catch(() => undefined);
    } finally {
      await nc.close();
    }
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
    if (!options.keepLogs && !debug()) await rm(logDir, { recursive: true, force: true });
  };

  try {
    // The gateway first: it migrates the schema and activates the policies the services read.
    processes.set('gateway', await startProcess(await spec('gateway', 'gateway', { GATEHOUSE_JWT_SECRET: jwtSecret })));
    processes.set('relay', await startProcess(await spec('relay', 'relay')));
    const services = await Promise.all(
      SERVICE_NAMES.map(async (name) => startProcess(await spec(name, name, name === 'deployments' ? { GATEHOUSE_SANDBOX_STATE: sandboxStateFile } : {}))),
    );
    services.forEach((service) => processes.set(service.name as ServiceName, service));
  } catch (error) {
    await cleanUp().catch(() => undefined);
    throw error;
  }

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    kind: 'distributed',
    url: processes.get('gateway')?.url ?? '',
    jwtSecret,
    logDir,
    sandboxStateFile,
    processes,
    process: lookup(processes),
    countEvents: async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`)).rows[0]?.n ?? 0),
    countPublished: async () => {
      const nc = await connect({ servers: nats });
      try {
        const jsm = await jetstreamManager(nc);
        const [events, deadLetters] = await Promise.all([jsm.streams.info(streams.events), jsm.streams.info(streams.deadLetters)]);
        return { events: events.state.messages, deadLetters: deadLetters.state.messages };
      } finally {
        await nc.close();
      }
    },
    deadLetters: async () => {
      const nc = await connect({ servers: nats });
      try {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info(streams.deadLetters);
        const letters = [];
        for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq += 1) {
          const message = await jsm.streams.getMessage(streams.deadLetters, { seq }).catch(() => null);
          if (message === null) continue;
          letters.push({ subject: message.subject, reason: message.header?.get('Gatehouse-Dlq-Reason'), error: `${message.header?.get('Gatehouse-Dlq-Error-Name') ?? ''}: ${message.header?.get('Gatehouse-Dlq-Error') ?? ''}` });
        }
        return letters;
      } finally {
        await nc.close();
      }
    },
    close: async () => {
      await pool.end();
      await cleanUp();
    },
  };
}

/** `npm start`'s one process (apps/gatehouse), on PGlite in a fresh data folder. */
export async function startEmbeddedGatehouse(options: SystemOptions): Promise<GatehouseSystem> {
  const { jwtSecret, logLevel } = common(options);
  const logDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-e2e-embedded-'));
  const gatehouse = await startProcess({
    name: 'gatehouse',
    entry: entryPoint('gatehouse'),
    env: {
      GATEHOUSE_DATA_DIR: path.join(logDir, 'data'),
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_CLOCK: options.startAt,
      GATEHOUSE_CLOCK_CONTROL: 'on',
      GATEHOUSE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
      GATEHOUSE_JWT_SECRET: jwtSecret,
      LOG_LEVEL: logLevel,
    },
    // No servers: whatever the test process was given (CI exports them) must not reach npm start's process.
    unset: ['DATABASE_URL', 'NATS_URL'],
    port: await freePort(),
    logFile: path.join(logDir, 'gatehouse.log'),
    startTimeoutMs: 120_000,
  });
  const processes = new Map<ProcessName, ManagedProcess>([['gatehouse', gatehouse]]);
  return {
    kind: 'embedded',
    url: gatehouse.url,
    jwtSecret,
    logDir,
    sandboxStateFile: undefined,
    processes,
    process: lookup(processes),
    countEvents: async () => {
      throw new Error('the embedded store (PGlite) belongs to its process: count events through GET /api/events');
    },
    countPublished: async () => {
      throw new Error('the embedded form has no JetStream: events go over the in-process bus');
    },
    deadLetters: async () => {
      throw new Error('the embedded form has no JetStream: events go over the in-process bus');
    },
    close: async () => {
      await gatehouse.stop();
      if (!options.keepLogs && !debug()) await rm(logDir, { recursive: true, force: true });
    },
  };
}
