/**
 * A running Gatehouse for end-to-end tests and benchmarks, reached only through its HTTP API:
 * - distributed: the gateway, the six services and the outbox relay, each its own process, over
 *   PostgreSQL (a fresh schema) and NATS JetStream (fresh subject prefix and streams);
 * - embedded: what `npm start` runs (one process, PGlite in a fresh data folder, in-process bus).
 * Both start with clock control on, the clock at `startAt` (the suites then stop it there) or, without
 * `startAt`, on the system clock running at real speed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { natsUrl } from '../nats.js';
import { testDatabaseUrl } from '../postgres.js';
import { entryPoint, freePort, type ManagedProcess, REPO_ROOT, startProcess } from './processes.js';

export const SERVICE_NAMES = ['change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export type ProcessName = ServiceName | 'gateway' | 'relay' | 'gatehouse';

export interface SystemOptions {
  /** Where the clock starts; move it with PUT /api/admin/clock. Omitted: the system clock, running at real speed. */
  startAt?: string;
  /** @defaultValue a random secret */
  jwtSecret?: string;
  /** @defaultValue 'warn' (DEBUG_E2E=1: 'info') */
  logLevel?: string;
  /** Kept after close when set (DEBUG_E2E=1 keeps them anyway). */
  keepLogs?: boolean;
  /** Extra node options per process, e.g. `{ 'change-requests': ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] }`. */
  nodeArgs?: Partial<Record<ProcessName, string[]>>;
  /**
   * A NATS server of the test's own (e.g. one enforcing users and permissions) instead of NATS_URL's, with
   * each process's credentials (NATS_USER / NATS_PASSWORD) and the admin's for setting up and cleaning up.
   */
  natsServer?: { url: string; users?: Partial<Record<ProcessName | 'admin', NatsCredentials>> };
  /** Subject prefix and stream names, when the NATS server's permissions were written for them. @defaultValue fresh random ones */
  subjects?: { prefix: string; eventStream: string; deadLetterStream: string };
  /** PostgreSQL of the distributed form (e.g. a cluster of the test's own). @defaultValue `testDatabaseUrl()` */
  databaseUrl?: string;
  /** NATS of the distributed form (e.g. a server of the test's own). @defaultValue `natsUrl()` */
  natsUrl?: string;
  /** Extra environment variables per process (e.g. command signing keys). */
  env?: Partial<Record<ProcessName, Record<string, string>>>;
}

export interface NatsCredentials {
  user: string;
  password: string;
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
  /** NATS subject prefix of this system (distributed form), for tests that publish on the bus as an outsider would. */
  readonly natsSubjectPrefix: string | undefined;
  readonly processes: ReadonlyMap<ProcessName, ManagedProcess>;
  process(name: ProcessName): ManagedProcess;
  /** Counts the events in the store directly (bypassing the API), to prove a refusal wrote nothing. */
  countEvents(): Promise<number>;
  /** Messages in the JetStream event stream and its dead-letter stream (distributed form). */
  countPublished(): Promise<{ events: number; deadLetters: number }>;
  /** What the dead-letter stream holds (distributed form): each message's subject, reason and error, to say why a reaction was lost. */
  deadLetters(): Promise<Array<{ subject: string; reason: string | undefined; error: string | undefined }>>;
  /** Every durable consumer of the event stream with what it has not yet handled (pending) or acknowledged (ackPending) (distributed form). */
  consumerBacklogs(): Promise<Array<{ consumer: string; pending: number; ackPending: number; redelivered: number }>>;
  /** The event ids the store holds and the ids (Nats-Msg-Id) the JetStream event stream holds, each in its order (distributed form). */
  eventIds(): Promise<{ stored: string[]; published: string[] }>;
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
  const nats = options.natsServer?.url ?? options.natsUrl ?? natsUrl();
  const credentialsOf = (user: ProcessName | 'admin') => {
    const found = options.natsServer?.users?.[user];
    return found === undefined ? {} : { user: found.user, pass: found.password };
  };
  const schema = `e2e_${id}`;
  const prefix = options.subjects?.prefix ?? `e2e-${id}`;
  const streams = { events: options.subjects?.eventStream ?? `E2E_${id.toUpperCase()}_EVENTS`, deadLetters: options.subjects?.deadLetterStream ?? `E2E_${id.toUpperCase()}_DLQ` };
  const sandboxStateFile = path.join(logDir, 'sandbox-cluster.json');
  const shared: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    GATEHOUSE_DB_SCHEMA: schema,
    NATS_URL: nats,
    GATEHOUSE_NATS_PREFIX: prefix,
    GATEHOUSE_EVENT_STREAM: streams.events,
    GATEHOUSE_DLQ_STREAM: streams.deadLetters,
    GATEHOUSE_POLICIES: POLICIES,
    ...(options.startAt === undefined ? {} : { GATEHOUSE_CLOCK: options.startAt }),
    GATEHOUSE_CLOCK_CONTROL: 'on',
    GATEHOUSE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
    // Tree heads only when a test asks (POST /api/audit/tree-heads): a periodic one would be an event no scenario wrote.
    GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
    LOG_LEVEL: logLevel,
  };
  const processes = new Map<ProcessName, ManagedProcess>();
  const spec = async (name: ProcessName, app: string, env: Record<string, string> = {}) => ({
    name,
    entry: entryPoint(app),
    env: {
      ...shared,
      ...(options.natsServer?.users?.[name] ? { NATS_USER: options.natsServer.users[name].user, NATS_PASSWORD: options.natsServer.users[name].password } : {}),
      ...options.env?.[name],
      ...env,
    },
    port: await freePort(),
    logFile: path.join(logDir, `${name}.log`),
    startTimeoutMs: 120_000,
    ...(options.nodeArgs?.[name] ? { nodeArgs: options.nodeArgs[name] } : {}),
  });

  const cleanUp = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((p) => p.stop().catch(() => undefined)));
    const nc = await connect({ servers: nats, ...credentialsOf('admin') });
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
    processes.set('gateway', await startProcess(await spec('gateway', 'gateway', { GATEHOUSE_JWT_SECRET: jwtSecret, GATEHOUSE_DATA_DIR: path.join(logDir, 'gateway-data') })));
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
    natsSubjectPrefix: prefix,
    processes,
    process: lookup(processes),
    countEvents: async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`)).rows[0]?.n ?? 0),
    countPublished: async () => {
      const nc = await connect({ servers: nats, ...credentialsOf('admin') });
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
    consumerBacklogs: async () => {
      const nc = await connect({ servers: nats, ...credentialsOf('admin') });
      try {
        const jsm = await jetstreamManager(nc);
        const backlogs = [];
        for await (const info of jsm.consumers.list(streams.events)) {
          backlogs.push({ consumer: info.name, pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered });
        }
        return backlogs.sort((a, b) => a.consumer.localeCompare(b.consumer));
      } finally {
        await nc.close();
      }
    },
    eventIds: async () => {
      // The log's order (what readAll, the verifier and the relay walk): commit order, then position.
      const stored = (await pool.query<{ id: string }>(`SELECT id FROM "${schema}".events ORDER BY transaction_id, global_position`)).rows.map((row) => row.id);
      const nc = await connect({ servers: nats, ...credentialsOf('admin') });
      try {
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info(streams.events);
        const published: string[] = [];
        if (info.state.messages === 0) return { stored, published };
        const consumer = await jetstream(nc).consumers.get(streams.events, { opt_start_seq: info.state.first_seq });
        const messages = await consumer.consume();
        for await (const message of messages) {
          published.push(message.headers?.get('Nats-Msg-Id') ?? `(no Nats-Msg-Id at ${message.seq})`);
          if (message.info.pending === 0) break;
        }
        return { stored, published };
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
      ...(options.startAt === undefined ? {} : { GATEHOUSE_CLOCK: options.startAt }),
      GATEHOUSE_CLOCK_CONTROL: 'on',
      GATEHOUSE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
      GATEHOUSE_JWT_SECRET: jwtSecret,
      LOG_LEVEL: logLevel,
      ...options.env?.gatehouse,
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
    natsSubjectPrefix: undefined,
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
    consumerBacklogs: async () => {
      throw new Error('the embedded form has no JetStream: events go over the in-process bus');
    },
    eventIds: async () => {
      throw new Error('the embedded store (PGlite) belongs to its process: read events through GET /api/events');
    },
    close: async () => {
      await gatehouse.stop();
      if (!options.keepLogs && !debug()) await rm(logDir, { recursive: true, force: true });
    },
  };
}
