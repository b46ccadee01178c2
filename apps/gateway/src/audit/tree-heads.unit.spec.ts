import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInMemoryEventStore, readLogTree, TREE_HEADS_STREAM, verifyTreeHead } from '@gatehouse/eventstore';
import { ConfigurationError } from '../config.js';
import { DEVELOPMENT_KEY_FILE, loadAuditSigningKey } from './signing-key.js';
import { TreeHeadLog } from './tree-heads.js';

describe('tree heads', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tree-heads-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps one development key in the data dir, owner-only, and signs with it across restarts', async () => {
    const first = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir });
    const again = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir });
    expect(again.keyId).toBe(first.keyId);
    expect(first.source).toEqual({ developmentKeyFile: path.join(dir, DEVELOPMENT_KEY_FILE) });
    expect((await stat(path.join(dir, DEVELOPMENT_KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('takes the key from GATEHOUSE_AUDIT_SIGNING_KEY (then writes no file), and names the variable when it is not an ed25519 PEM key', async () => {
    const generated = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir });
    const pem = await readFile(path.join(dir, DEVELOPMENT_KEY_FILE), 'utf8');
    const configured = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: path.join(dir, 'elsewhere'), GATEHOUSE_AUDIT_SIGNING_KEY: pem });
    expect(configured).toMatchObject({ source: 'GATEHOUSE_AUDIT_SIGNING_KEY', keyId: generated.keyId });
    await expect(stat(path.join(dir, 'elsewhere'))).rejects.toThrow(/ENOENT/);
    await expect(loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_AUDIT_SIGNING_KEY: 'not a key' })).rejects.toThrow(ConfigurationError);
    await expect(loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_AUDIT_SIGNING_KEY: 'not a key' })).rejects.toThrow(/GATEHOUSE_AUDIT_SIGNING_KEY: must be a PEM private key/);
  });

  it('signs with a key that ends with the process when the data dir cannot hold one, and reports a tree-head file it cannot write', async () => {
    const notADirectory = path.join(dir, 'a-file');
    await writeFile(notADirectory, '');
    const key = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: path.join(notADirectory, 'data') });
    expect(key.source).toBe('ephemeral');
    const store = createInMemoryEventStore();
    const exportErrors: unknown[] = [];
    const log = new TreeHeadLog({ store, key, exportFile: path.join(notADirectory, 'tree-heads.ndjson'), onExportError: (error) => exportErrors.push(error) });
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: {} }]);
    const head = await log.produce('aud');
    expect(verifyTreeHead(head, key.publicKey)).toBe(true);
    expect(await log.latest()).toEqual(head);
    expect(exportErrors).toHaveLength(1);
  });

  it('records a signed head over the whole log as an event and a line of the export file', async () => {
    const store = createInMemoryEventStore();
    const key = await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir });
    const exportFile = path.join(dir, 'heads', 'tree-heads.ndjson');
    const log = new TreeHeadLog({ store, key, exportFile, now: () => new Date('2026-12-01T10:00:00Z') });
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: {} }, { type: 'OrderShipped', data: {} }]);

    const head = await log.produce('aud');
    const tree = await readLogTree(store, 2);
    expect(head).toMatchObject({ treeSize: 2, rootHash: tree.tree.root().toString('hex'), lastPosition: '2', timestamp: '2026-12-01T10:00:00.000Z', keyId: key.keyId });
    expect(verifyTreeHead(head, key.publicKey)).toBe(true);
    const [recorded] = await store.readStream(TREE_HEADS_STREAM);
    expect(recorded).toMatchObject({ type: 'TreeHeadSigned', data: head, metadata: { actor: 'aud' } });
    expect(await log.latest()).toEqual(head);
    expect((await readFile(exportFile, 'utf8')).split('\n')).toEqual([JSON.stringify(head), '']);
  });

  it('signs a periodic head only when events other than tree heads were appended since the last one', async () => {
    const store = createInMemoryEventStore();
    const log = new TreeHeadLog({ store, key: await loadAuditSigningKey({ GATEHOUSE_DATA_DIR: dir }), exportFile: path.join(dir, 'h.ndjson') });
    expect(await log.produceIfGrown()).toBeUndefined();
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: {} }]);
    expect(await log.produceIfGrown()).toMatchObject({ treeSize: 1 });
    // Only its own TreeHeadSigned event came since: nothing to sign.
    expect(await log.produceIfGrown()).toBeUndefined();
    await store.appendToStream('order-1', [{ type: 'OrderShipped', data: {} }]);
    expect(await log.produceIfGrown()).toMatchObject({ treeSize: 3 });
    expect((await store.readStream(TREE_HEADS_STREAM)).map((e) => (e.data as { treeSize: number }).treeSize)).toEqual([1, 3]);
  });
});
