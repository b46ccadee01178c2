/**
 * `gatehouse audit ...`: the auditor's side of the signed tree heads — check evidence against a
 * running gateway without trusting its database.
 *   public-key          print the key tree heads are signed with
 *   watch --state FILE  verify the log still extends the last head this client trusted
 *   verify-inclusion    prove one event is in a signed tree head, from its content up
 *   replay              the log (or part of it) as JSON Lines with inclusion proofs
 *   verify              the server's own verification, or --offline an export with only the key
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { Command } from 'commander';
import { eventLeafHash, keyIdOf, recomputeEventHash, type SignedTreeHead, verifyInclusion, verifyReplay, verifyTreeHead } from '@gatehouse/eventstore';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { type AuditClient, auditClient, AuditServerError, type EventView } from './auditClient.js';
import { readWatchState, watchOnce, writeWatchState } from './auditWatch.js';

/** The evidence does not hold: a rewritten history, a bad signature or a proof that fails. */
export const EXIT_EVIDENCE_FAILED = 4;
/** The gateway could not be reached or refused the request. */
export const EXIT_SERVER_ERROR = 5;
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

interface ServerOptions {
  url?: string;
  token?: string;
}

const serverOptions = (command: Command): Command =>
  command
    .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
    .option('--token <jwt>', 'bearer token with an auditor role (default: $GATEHOUSE_TOKEN)');

export function registerAuditCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const audit = program.command('audit').description('check the signed evidence of the event log against a gateway');
  const client = (options: ServerOptions) => auditClient(options.url ?? io.env['GATEHOUSE_URL'] ?? DEFAULT_GATEWAY_URL, options.token ?? io.env['GATEHOUSE_TOKEN']);
  const resolve = (file: string): string => path.resolve(io.cwd, file);
  /** Runs a command, turning the gateway's failures into a message and EXIT_SERVER_ERROR. */
  const guarded = async (work: () => Promise<number>): Promise<void> => {
    try {
      exit.value = await work();
    } catch (error) {
      if (!(error instanceof AuditServerError)) throw error;
      io.stderr(`error: ${error.message}\n`);
      exit.value = EXIT_SERVER_ERROR;
    }
  };

  serverOptions(audit.command('public-key').description('print the ed25519 public key (PEM) tree heads are signed with, and its key id')).action(
    (options: ServerOptions) =>
      guarded(async () => {
        const key = await client(options).publicKey();
        io.stdout(`# key id ${key.keyId}\n${key.publicKeyPem}`);
        return EXIT_OK;
      }),
  );

  serverOptions(
    audit
      .command('watch')
      .description('verify that the log extends the last signed tree head this client trusted (kept in --state); exit 4 naming the first rewritten position if not')
      .requiredOption('--state <file>', 'state file: the last verified signed tree head and its leaves (created on the first run)')
      .option('--key <file>', 'PEM public key to trust (default: the one in --state; on the first run, the server\'s)')
      .option('--latest', 'check the latest periodic tree head instead of having one signed now'),
  ).action((options: ServerOptions & { state: string; key?: string; latest?: boolean }) =>
    guarded(async () => {
      const stateFile = resolve(options.state);
      const state = await readWatchState(stateFile);
      const trustedKeyPem = options.key === undefined ? undefined : await readKeyFile(resolve(options.key));
      const { outcome, next } = await watchOnce({ client: client(options), state, trustedKeyPem, latest: options.latest === true });
      if (!outcome.ok) {
        const at = outcome.firstDifference;
        const where = at === undefined
          ? ''
          : `\nfirst position that differs: ${at.globalPosition} (stream ${at.streamId}, version ${at.streamVersion}, leaf ${at.index}): verified hash ${at.trustedHash}, ${at.serverHash === null ? 'the server no longer has this event there' : `the server now has ${at.serverHash}`}`;
        io.stderr(`HISTORY NOT VERIFIED: ${outcome.reason}${where}\nthe state file still holds the last trusted tree head (size ${state?.treeHead.treeSize ?? 0})\n`);
        return EXIT_EVIDENCE_FAILED;
      }
      await writeWatchState(stateFile, next as NonNullable<typeof next>);
      const { treeHead } = outcome;
      io.stdout(
        outcome.previousSize === null
          ? `trusting tree head of size ${treeHead.treeSize} (root ${treeHead.rootHash}, signed ${treeHead.timestamp} by key ${outcome.keyId})\n`
          : `ok: tree head of size ${treeHead.treeSize} (root ${treeHead.rootHash}) extends the trusted head of size ${outcome.previousSize}\n`,
      );
      return EXIT_OK;
    }),
  );

  registerReplayCommands(audit, io, client, guarded);

  serverOptions(
    audit
      .command('verify-inclusion')
      .description('prove that the event at a position is in a signed tree head: content → event hash → leaf → audit path → signed root')
      .requiredOption('--position <n>', 'global position of the event')
      .option('--state <file>', 'prove against the tree head trusted in this watch state file (default: the latest signed head)')
      .option('--key <file>', 'PEM public key to trust (default: the one in --state, else the server\'s)')
      .option('--json', 'print the verified event and proof as JSON'),
  ).action((options: ServerOptions & { position: string; state?: string; key?: string; json?: boolean }) =>
    guarded(async () => {
      if (!/^\d{1,19}$/.test(options.position)) throw new CliInputError(`--position ${options.position} must be a non-negative integer`);
      const server = client(options);
      const state = options.state === undefined ? undefined : await readWatchState(resolve(options.state));
      if (options.state !== undefined && state === undefined) throw new CliInputError(`--state ${options.state} does not exist; run gatehouse audit watch first`);
      const publicKey = parseKey(options.key !== undefined ? await readKeyFile(resolve(options.key)) : (state?.publicKeyPem ?? (await server.publicKey()).publicKeyPem));
      const head: SignedTreeHead = state?.treeHead ?? (await server.latestTreeHead());
      const failure = (reason: string): number => {
        io.stderr(`NOT VERIFIED: ${reason}\n`);
        return EXIT_EVIDENCE_FAILED;
      };
      if (!verifyTreeHead(head, publicKey)) return failure(`the tree head of size ${head.treeSize} is not signed by the trusted key ${keyIdOf(publicKey)}`);
      const proof = await server.inclusionProof(options.position, head.treeSize);
      const recomputed = recomputeEventHash(fromView(proof.event));
      if (recomputed !== proof.event.hash) return failure(`the event at position ${options.position} does not match its own hash: content altered`);
      const included = verifyInclusion(eventLeafHash(recomputed), proof.leafIndex, head.treeSize, proof.auditPath.map((p) => Buffer.from(p, 'hex')), Buffer.from(head.rootHash, 'hex'));
      if (!included) return failure(`the event at position ${options.position} (stream ${proof.event.streamId}, version ${proof.event.streamVersion}) is not in the signed tree head of size ${head.treeSize}`);
      if (options.json === true) {
        io.stdout(`${JSON.stringify({ verified: true, treeHead: head, leafIndex: proof.leafIndex, auditPath: proof.auditPath, event: proof.event }, null, 2)}\n`);
      } else {
        io.stdout(
          `verified: event ${proof.event.id} (${proof.event.type}, stream ${proof.event.streamId}, version ${proof.event.streamVersion}) at position ${options.position} is leaf ${proof.leafIndex} of the tree head of size ${head.treeSize} signed ${head.timestamp}\n`,
        );
      }
      return EXIT_OK;
    }),
  );
}

const POSITION = /^\d{1,19}$/;

function registerReplayCommands(audit: Command, io: CliIo, client: (options: ServerOptions) => AuditClient, guarded: (work: () => Promise<number>) => Promise<void>): void {
  const resolve = (file: string): string => path.resolve(io.cwd, file);
  serverOptions(
    audit
      .command('replay')
      .description('export the log in commit order as JSON Lines, each event with its proof in the latest signed tree head (first line); resumable with --after')
      .option('--after <position>', 'resume after this global position (the last one an earlier export held)')
      .option('--until <position>', 'stop at this global position')
      .option('--stream <streamId>', 'only this stream')
      .option('--type <eventType>', 'only events of this type')
      .option('--out <file>', 'write to this file instead of standard output'),
  ).action((options: ServerOptions & { after?: string; until?: string; stream?: string; type?: string; out?: string }) =>
    guarded(async () => {
      const query = new URLSearchParams();
      for (const name of ['after', 'until'] as const) {
        const value = options[name];
        if (value === undefined) continue;
        if (!POSITION.test(value)) throw new CliInputError(`--${name} ${value} must be a global position (a non-negative integer)`);
        query.set(name, value);
      }
      if (options.stream !== undefined) query.set('stream', options.stream);
      if (options.type !== undefined) query.set('type', options.type);
      const chunks = client(options).exportLog(query);
      if (options.out === undefined) {
        for await (const chunk of chunks) io.stdout(chunk);
        return EXIT_OK;
      }
      const file = createWriteStream(resolve(options.out));
      try {
        for await (const chunk of chunks) if (!file.write(chunk)) await once(file, 'drain');
      } finally {
        file.end();
        await once(file, 'close');
      }
      return EXIT_OK;
    }),
  );

  serverOptions(
    audit
      .command('verify')
      .description('the gateway re-walks its log (exit 4 naming the first bad row); with --offline FILE --key PEM, verify an export with no server')
      .option('--offline <file>', 'a file written by gatehouse audit replay')
      .option('--key <file>', 'PEM public key the export\'s tree head must be signed with (required with --offline)')
      .option('--json', 'print the result as JSON'),
  ).action((options: ServerOptions & { offline?: string; key?: string; json?: boolean }) =>
    guarded(async () => {
      if (options.offline !== undefined) {
        if (options.key === undefined) throw new CliInputError('--offline needs --key: an export proves nothing without the key that signed its tree head');
        const publicKey = parseKey(await readKeyFile(resolve(options.key)));
        const input = createReadStream(resolve(options.offline));
        const opened = once(input, 'open').catch(() => {
          throw new CliInputError(`--offline ${options.offline} cannot be read`);
        });
        await opened;
        const result = await verifyReplay(createInterface({ input, crlfDelay: Infinity }), publicKey);
        if (options.json === true) io.stdout(`${JSON.stringify(result)}\n`);
        if (!result.ok) {
          const where = result.globalPosition === undefined ? '' : ` (position ${result.globalPosition}, stream ${result.streamId}, version ${result.streamVersion})`;
          io.stderr(`NOT VERIFIED: line ${result.line}${where}: ${result.reason}\n`);
          return EXIT_EVIDENCE_FAILED;
        }
        if (options.json !== true) {
          io.stdout(`verified: ${result.events} events, each in the tree head of size ${result.treeHead.treeSize} signed ${result.treeHead.timestamp} by key ${result.treeHead.keyId}\n`);
        }
        return EXIT_OK;
      }
      const result = await client(options).verify();
      if (options.json === true) io.stdout(`${JSON.stringify(result)}\n`);
      if (!result.ok) {
        io.stderr(`NOT VERIFIED: position ${result.firstBadPosition} (stream ${result.streamId ?? '-'}, version ${result.streamVersion ?? '-'}): ${result.reason}\n`);
        return EXIT_EVIDENCE_FAILED;
      }
      if (options.json !== true) io.stdout(`verified: ${result.eventsChecked} events\n`);
      return EXIT_OK;
    }),
  );
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new CliInputError(`--key ${file} cannot be read`);
  }
}

function parseKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch {
    throw new CliInputError('--key must be a PEM public key (as gatehouse audit public-key prints)');
  }
}

function fromView(event: EventView) {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    streamVersion: BigInt(event.streamVersion),
    globalPosition: BigInt(event.globalPosition),
    recordedAt: new Date(event.recordedAt),
    data: event.data,
    metadata: event.metadata,
    hash: event.hash,
    previousHash: event.previousHash,
  };
}
