import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  type AuditableEventStore,
  type LogTree,
  readLogTree,
  type SignedTreeHead,
  signTreeHead,
  TREE_HEAD_SIGNED,
  TREE_HEADS_STREAM,
} from '@gatehouse/eventstore';
import type { AuditSigningKey } from './signing-key.js';

export interface TreeHeadLogOptions {
  store: AuditableEventStore;
  key: AuditSigningKey;
  /** Append-only JSON Lines file every head is also written to (outside the database). */
  exportFile: string;
  /** Wall clock of the signature. @defaultValue () => new Date() */
  now?: () => Date;
  /** Called when a periodic head fails; the next tick tries again. */
  onError?: (error: unknown) => void;
  /** Called when a head could not be appended to `exportFile` (it is still recorded as an event). */
  onExportError?: (error: unknown) => void;
}

/**
 * Signs tree heads over the log as the database holds it and records each one twice: as a
 * TreeHeadSigned event (which the outbox relay also publishes to JetStream in the distributed
 * form) and as a line of an append-only file. Heads are produced one at a time in this process.
 */
export class TreeHeadLog {
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private latestHead: SignedTreeHead | undefined;
  private latestVersion = -1n;
  private latestEventId: string | undefined;

  constructor(private readonly options: TreeHeadLogOptions) {}

  /** Signs and records a head over the whole log now. */
  produce(actor: string): Promise<SignedTreeHead> {
    return this.serialised(async () => this.record(await readLogTree(this.options.store), actor));
  }

  /** Signs a head only when events other than tree heads were appended since the last one. */
  produceIfGrown(): Promise<SignedTreeHead | undefined> {
    return this.serialised(async () => {
      const [tree, latest] = await Promise.all([readLogTree(this.options.store), this.latest()]);
      const covered = latest?.treeSize ?? 0;
      if (!tree.leaves.slice(covered).some((leaf) => leaf.type !== TREE_HEAD_SIGNED)) return undefined;
      return this.record(tree, 'gateway');
    });
  }

  /** The last head recorded in the log, if any. */
  async latest(): Promise<SignedTreeHead | undefined> {
    // Read on from the head seen last time; if that event is gone or changed (the stream was
    // rewritten behind our back), read the stream again from its start.
    let newer = await this.options.store.readStream(TREE_HEADS_STREAM, { fromVersion: this.latestVersion < 0n ? 0n : this.latestVersion });
    if (this.latestEventId !== undefined && newer[0]?.id !== this.latestEventId) {
      this.reset();
      newer = await this.options.store.readStream(TREE_HEADS_STREAM);
    }
    const last = newer.at(-1);
    // Concurrent callers may finish out of order: never step back to an older head.
    if (last !== undefined && last.streamVersion >= this.latestVersion) {
      this.latestHead = last.data as SignedTreeHead;
      this.latestVersion = last.streamVersion;
      this.latestEventId = last.id;
    }
    return this.latestHead;
  }

  private reset(): void {
    this.latestHead = undefined;
    this.latestVersion = -1n;
    this.latestEventId = undefined;
  }

  /** Periodic heads every `intervalMs` (0: none). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.produceIfGrown().catch((error: unknown) => this.options.onError?.(error));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running.catch(() => undefined);
  }

  private async record(tree: LogTree, actor: string): Promise<SignedTreeHead> {
    const { store, key, exportFile, now = () => new Date() } = this.options;
    const head = signTreeHead(
      {
        treeSize: tree.tree.size,
        rootHash: tree.tree.root().toString('hex'),
        lastPosition: (tree.leaves.at(-1)?.globalPosition ?? 0n).toString(),
        timestamp: now().toISOString(),
      },
      key.privateKey,
    );
    await store.appendToStream(TREE_HEADS_STREAM, [{ type: TREE_HEAD_SIGNED, data: head, metadata: { actor } }]);
    try {
      await mkdir(path.dirname(exportFile), { recursive: true });
      await appendFile(exportFile, `${JSON.stringify(head)}\n`);
    } catch (error) {
      // The head is recorded and signed; a file that cannot be written is reported, not fatal.
      this.options.onExportError?.(error);
    }
    return head;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.catch(() => undefined).then(work);
    this.running = next;
    return next;
  }
}
