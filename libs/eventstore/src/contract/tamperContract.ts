/**
 * Tamper evidence, run against the SQL adapters: rows are altered, deleted and forged with
 * raw SQL behind the store's back, and verifyEventLog must name the first bad row.
 */
import { generateKeyPairSync } from 'node:crypto';
import { visibleHead } from '@gatehouse/testing';
import { canonicalJson } from '../canonicalJson.js';
import { readLogTree } from '../merkle/logTree.js';
import { verifyConsistency } from '../merkle/merkleTree.js';
import { signTreeHead, TREE_HEAD_SIGNED, TREE_HEADS_STREAM, verifyTreeHead } from '../merkle/treeHead.js';
import { canonicalEventBody, eventHash, nextChainHash } from '../hashing.js';
import { sealOnce } from '../sealer.js';
import type { AuditableEventStore, StoredEvent } from '../types.js';
import { verifyEventLog } from '../verify.js';

export interface TamperFixture {
  store: AuditableEventStore;
  /** Quoted schema of the store, for raw SQL. */
  schema: string;
  /** Raw SQL straight to the database, bypassing the store. */
  sql(text: string, params?: unknown[]): Promise<unknown>;
  teardown(): Promise<void>;
}

export function runTamperContract(name: string, createFixture: () => Promise<TamperFixture>): void {
  describe(`tamper evidence: ${name}`, () => {
    let fixture: TamperFixture;
    let payments: StoredEvent[];
    let orders: StoredEvent[];

    beforeEach(async () => {
      fixture = await createFixture();
      const { store } = fixture;
      await store.appendToStream('payments-1', [
        { type: 'PaymentRequested', data: { amount: 100 } },
        { type: 'PaymentApproved', data: { amount: 100, by: 'ann' } },
      ]);
      await store.appendToStream('orders-1', [{ type: 'OrderPlaced', data: { sku: 'x' } }]);
      await store.appendToStream('payments-1', [{ type: 'PaymentSettled', data: { amount: 100 } }]);
      await store.appendToStream('orders-1', [{ type: 'OrderShipped', data: { carrier: 'ups' } }]);
      await visibleHead(store);
      await sealOnce(store, 2);
      payments = await store.readStream('payments-1');
      orders = await store.readStream('orders-1');
      expect(await verifyEventLog(store)).toMatchObject({ ok: true, eventsChecked: 5 });
    });
    afterEach(async () => {
      await fixture.teardown();
    });

    it('names an event whose data was altered', async () => {
      const target = payments[1]!;
      await fixture.sql(`UPDATE ${fixture.schema}.events SET data = '{"amount": 1000000, "by": "ann"}' WHERE global_position = $1`, [
        target.globalPosition.toString(),
      ]);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: target.globalPosition,
        streamId: 'payments-1',
        streamVersion: 1n,
        reason: expect.stringMatching(/content altered/),
      });
    });

    it('names a deleted sealed row itself: position, stream and version', async () => {
      const deleted = payments[1]!;
      await fixture.sql(`DELETE FROM ${fixture.schema}.events WHERE global_position = $1`, [deleted.globalPosition.toString()]);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: deleted.globalPosition,
        streamId: 'payments-1',
        streamVersion: 1n,
        reason: expect.stringMatching(/^event at position \d+ \(stream payments-1, version 1\) is missing: deleted after it was sealed$/),
      });
    });

    it('names a deleted row whose stream continues only after the next seal, not the sealed range or another stream', async () => {
      // orders-1 v0 is sealed with payments-1 v2 before orders-1 v1 comes: the seal chain breaks
      // at payments-1's row first, which used to be what verify named.
      const deleted = orders[0]!;
      await fixture.sql(`DELETE FROM ${fixture.schema}.events WHERE global_position = $1`, [deleted.globalPosition.toString()]);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: deleted.globalPosition,
        streamId: 'orders-1',
        streamVersion: 0n,
        reason: expect.stringMatching(/is missing: deleted after it was sealed/),
      });
    });

    it('names the stream and missing version of a deleted row that was not sealed yet', async () => {
      const { events: more } = await fixture.store.appendToStream('orders-1', [
        { type: 'OrderReturned', data: {} },
        { type: 'OrderRefunded', data: {} },
      ]);
      await visibleHead(fixture.store);
      await fixture.sql(`DELETE FROM ${fixture.schema}.events WHERE global_position = $1`, [more[0]!.globalPosition.toString()]);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: more[1]!.globalPosition,
        streamId: 'orders-1',
        streamVersion: 3n,
        reason: expect.stringMatching(/version 2 of stream orders-1 is missing \(deleted between position \d+ and position \d+\)/),
      });
    });

    it('never returns a row whose transaction id was forged far ahead, from any read, and verify names it', async () => {
      // The attack: a forged approval no log reader sees (readAll stops below the oldest running
      // transaction id) while stream reads, which command handling folds into state, used to return it.
      const recordedAt = new Date();
      const id = '0190f5a0-0000-7000-8000-0000000000f1';
      const data = { amount: 100, by: 'mallory' };
      const body = canonicalEventBody({ id, type: 'PaymentApproved', streamId: 'payments-1', recordedAt, data, metadata: {} }, canonicalJson);
      await fixture.sql(
        `INSERT INTO ${fixture.schema}.events (transaction_id, id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
         VALUES ('9000000000000000000', $1, 'payments-1', 3, 'PaymentApproved', $2, '{}', $3, $4, $5)`,
        [id, JSON.stringify(data), recordedAt.toISOString(), eventHash(payments[2]!.hash, 3n, body), payments[2]!.hash],
      );
      const [row] = (await fixture.sql(`SELECT global_position FROM ${fixture.schema}.events WHERE id = $1`, [id]).then(rowsOf)) as [{ global_position: unknown }];
      const forgedPosition = BigInt(String(row.global_position));

      expect((await fixture.store.readStream('payments-1')).map((e) => e.id)).toEqual(payments.map((e) => e.id));
      expect(await fixture.store.readStream('payments-1', { fromVersion: 3n })).toEqual([]);
      const all: string[] = [];
      for await (const event of fixture.store.readAll()) all.push(event.id);
      expect(all).not.toContain(id);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: forgedPosition,
        streamId: 'payments-1',
        streamVersion: 3n,
        reason: expect.stringMatching(/is stored outside the log: its transaction id is not one a committed transaction can have/),
      });
    });

    it('never returns a row placed before the start of the log, and verify names it', async () => {
      await fixture.sql(
        `INSERT INTO ${fixture.schema}.events (global_position, transaction_id, id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
         OVERRIDING SYSTEM VALUE
         VALUES (0, '0', '0190f5a0-0000-7000-8000-0000000000f2', 'refunds-9', 0, 'RefundIssued', '{}', '{}', now(), $1, $2)`,
        ['e'.repeat(64), '0'.repeat(64)],
      );
      expect(await fixture.store.readStream('refunds-9')).toEqual([]);
      expect(await verifyEventLog(fixture.store)).toMatchObject({ ok: false, firstBadPosition: 0n, streamId: 'refunds-9', reason: expect.stringMatching(/outside the log/) });
    });

    it('names a forged row inserted with a made-up hash', async () => {
      await fixture.sql(
        `INSERT INTO ${fixture.schema}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
         VALUES ('0190f5a0-0000-7000-8000-000000000001', 'payments-1', 3, 'PaymentRefunded', '{"amount": 100}', '{}', now(), $1, $2)`,
        ['f'.repeat(64), payments[2]!.hash],
      );
      await visibleHead(fixture.store);
      const [forged] = (await fixture.store.readStream('payments-1', { fromVersion: 3n })) as [StoredEvent];
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: forged.globalPosition,
        streamId: 'payments-1',
        streamVersion: 3n,
        reason: expect.stringMatching(/content altered/),
      });
    });

    it('names a forged row slipped into sealed history with correctly computed hashes', async () => {
      // The forger extends payments-1 with valid hashes and gives the row the transaction id of
      // payments-1 v2, so it sorts right after it: per-event and per-stream checks pass.
      const recordedAt = new Date();
      const id = '0190f5a0-0000-7000-8000-000000000002';
      const body = canonicalEventBody(
        { id, type: 'PaymentRefunded', streamId: 'payments-1', recordedAt, data: { amount: 100 }, metadata: {} },
        canonicalJson,
      );
      const hash = eventHash(payments[2]!.hash, 3n, body);
      await fixture.sql(
        `INSERT INTO ${fixture.schema}.events (transaction_id, id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
         SELECT transaction_id, $1, 'payments-1', 3, 'PaymentRefunded', '{"amount": 100}', '{}', $2, $3, $4
         FROM ${fixture.schema}.events WHERE id = $5`,
        [id, recordedAt.toISOString(), hash, payments[2]!.hash, payments[2]!.id],
      );
      const [forged] = (await fixture.store.readStream('payments-1', { fromVersion: 3n })) as [StoredEvent];
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: forged.globalPosition,
        streamId: 'payments-1',
        streamVersion: 3n,
        reason: expect.stringMatching(/is not in sealed history, which has position \d+ at this place: inserted or moved after sealing/),
      });
    });

    /** The forger rewrites payments-1 v`from` and re-chains the rest of the stream so it looks intact. */
    async function rewritePayments(from: bigint, data: unknown): Promise<void> {
      let previousHash = payments[Number(from)]!.previousHash;
      for (const original of payments.filter((e) => e.streamVersion >= from)) {
        const content = original.streamVersion === from ? data : original.data;
        const hash = eventHash(previousHash, original.streamVersion, canonicalEventBody({ ...original, data: content }, canonicalJson));
        await fixture.sql(`UPDATE ${fixture.schema}.events SET data = $1, hash = $2, previous_hash = $3 WHERE id = $4`, [
          JSON.stringify(content),
          hash,
          previousHash,
          original.id,
        ]);
        previousHash = hash;
      }
    }

    it('names an event rewritten with its own and the next hashes recomputed', async () => {
      await rewritePayments(0n, { amount: 1 });
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: payments[0]!.globalPosition,
        streamId: 'payments-1',
        streamVersion: 0n,
        reason: expect.stringMatching(/was rewritten after it was sealed: its hash was [0-9a-f]{64}, now [0-9a-f]{64}/),
      });
    });

    it('names an approval rewritten with the rest of its stream re-hashed and every seal rebuilt', async () => {
      // The attack: who approved changes; the stream is re-chained and the seals table recomputed
      // with the forged hashes (the sealed events, kept apart, still hold what the sealer saw).
      await rewritePayments(1n, { amount: 100, by: 'mallory' });
      await fixture.sql(`DELETE FROM ${fixture.schema}.seals`);
      let chain = '0'.repeat(64);
      let count = 0;
      for await (const event of fixture.store.readAll()) {
        chain = nextChainHash(chain, event.hash, event.globalPosition);
        count += 1;
        if (count % 2 === 0 || count === 5) {
          await fixture.sql(`INSERT INTO ${fixture.schema}.seals (seal_number, position, chain_hash, events_sealed) VALUES ($1, $2, $3, $4)`, [
            Math.ceil(count / 2) - 1,
            event.globalPosition.toString(),
            chain,
            count,
          ]);
        }
      }
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: payments[1]!.globalPosition,
        streamId: 'payments-1',
        streamVersion: 1n,
        reason: expect.stringMatching(/was rewritten after it was sealed/),
      });
    });

    it('cannot see a rewrite that also rebuilt the seals and sealed events, but a tree head signed before no longer extends', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const before = await readLogTree(fixture.store);
      const head = signTreeHead({ treeSize: before.tree.size, rootHash: before.tree.root().toString('hex'), lastPosition: '5', timestamp: new Date().toISOString() }, privateKey);
      await fixture.store.appendToStream('orders-1', [{ type: 'OrderClosed', data: {} }]);
      await visibleHead(fixture.store);

      await rewritePayments(1n, { amount: 100, by: 'mallory' });
      await fixture.sql(`DELETE FROM ${fixture.schema}.seals`);
      await fixture.sql(`DELETE FROM ${fixture.schema}.sealed_events`);
      await sealOnce(fixture.store, 2);
      expect(await verifyEventLog(fixture.store)).toMatchObject({ ok: true, eventsChecked: 6 });

      const after = await readLogTree(fixture.store);
      const proof = after.tree.consistencyProof(head.treeSize);
      expect(verifyTreeHead(head, publicKey)).toBe(true);
      expect(verifyConsistency(head.treeSize, after.tree.size, Buffer.from(head.rootHash, 'hex'), after.tree.root(), proof)).toBe(false);
      const firstDiffering = after.leaves.find((leaf, i) => leaf.eventHash !== before.leaves[i]!.eventHash);
      expect(firstDiffering).toMatchObject({ globalPosition: payments[1]!.globalPosition, streamId: 'payments-1', streamVersion: 1n });
    });

    it('names a rewrite that rebuilt the seals and sealed events when the log recorded a signed tree head over it', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const before = await readLogTree(fixture.store);
      const head = signTreeHead({ treeSize: 5, rootHash: before.tree.root().toString('hex'), lastPosition: '5', timestamp: new Date().toISOString() }, privateKey);
      await fixture.store.appendToStream(TREE_HEADS_STREAM, [{ type: TREE_HEAD_SIGNED, data: head }]);
      await visibleHead(fixture.store);
      expect(await verifyEventLog(fixture.store, { treeHeadKey: publicKey })).toMatchObject({ ok: true, eventsChecked: 6 });

      await rewritePayments(1n, { amount: 100, by: 'mallory' });
      await fixture.sql(`DELETE FROM ${fixture.schema}.seals`);
      await fixture.sql(`DELETE FROM ${fixture.schema}.sealed_events`);
      await sealOnce(fixture.store, 2);
      expect(await verifyEventLog(fixture.store, { treeHeadKey: publicKey })).toEqual({
        ok: false,
        firstBadPosition: orders[1]!.globalPosition,
        streamId: 'orders-1',
        streamVersion: 1n,
        reason: expect.stringMatching(/the log's first 5 events \(up to position \d+\) no longer have the root of the tree head signed .* an event among them was rewritten after it was signed/),
      });

      // Re-signing is beyond the forger: a head edited to the new root fails its signature.
      const forgedRoot = (await readLogTree(fixture.store, 5)).tree.root().toString('hex');
      await fixture.sql(`UPDATE ${fixture.schema}.events SET data = jsonb_set(data, '{rootHash}', to_jsonb($1::text)) WHERE stream_id = $2`, [forgedRoot, TREE_HEADS_STREAM]);
      expect(await verifyEventLog(fixture.store, { treeHeadKey: publicKey })).toMatchObject({
        ok: false,
        streamId: TREE_HEADS_STREAM,
        reason: expect.stringMatching(/tree head of size 5 recorded at position \d+ is not signed by the trusted key/),
      });
    });

    it('checks only the root of a head signed by a key rotated out, so a new key raises no false alarm', async () => {
      const old = generateKeyPairSync('ed25519');
      const current = generateKeyPairSync('ed25519');
      const tree = await readLogTree(fixture.store);
      const head = signTreeHead({ treeSize: 5, rootHash: tree.tree.root().toString('hex'), lastPosition: '5', timestamp: new Date().toISOString() }, old.privateKey);
      await fixture.store.appendToStream(TREE_HEADS_STREAM, [{ type: TREE_HEAD_SIGNED, data: head }]);
      await visibleHead(fixture.store);
      expect(await verifyEventLog(fixture.store, { treeHeadKey: current.publicKey })).toMatchObject({ ok: true });
      await rewritePayments(1n, { amount: 100, by: 'mallory' });
      await fixture.sql(`DELETE FROM ${fixture.schema}.seals`);
      await fixture.sql(`DELETE FROM ${fixture.schema}.sealed_events`);
      await sealOnce(fixture.store, 2);
      expect(await verifyEventLog(fixture.store, { treeHeadKey: current.publicKey })).toMatchObject({ ok: false, reason: expect.stringMatching(/no longer have the root of the tree head/) });
    });
  });
}

/** pg returns { rows }, PGlite { rows } too: the rows of a raw query result. */
function rowsOf(result: unknown): unknown[] {
  return (result as { rows: unknown[] }).rows;
}
