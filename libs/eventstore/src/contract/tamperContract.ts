/**
 * Tamper evidence, run against the SQL adapters: rows are altered, deleted and forged with
 * raw SQL behind the store's back, and verifyEventLog must name the first bad row.
 */
import { canonicalJson } from '../canonicalJson.js';
import { canonicalEventBody, eventHash } from '../hashing.js';
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
        reason: expect.stringMatching(/content altered/),
      });
    });

    it('names the event after a deleted one (version gap)', async () => {
      await fixture.sql(`DELETE FROM ${fixture.schema}.events WHERE global_position = $1`, [payments[1]!.globalPosition.toString()]);
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: payments[2]!.globalPosition,
        streamId: 'payments-1',
        reason: expect.stringMatching(/expected stream version 1, found 2/),
      });
    });

    it('detects a deleted, sealed last event of a stream through the seals', async () => {
      const last = orders[1]!;
      await fixture.sql(`DELETE FROM ${fixture.schema}.events WHERE global_position = $1`, [last.globalPosition.toString()]);
      const result = await verifyEventLog(fixture.store);
      expect(result).toMatchObject({ ok: false, firstBadPosition: last.globalPosition, reason: expect.stringMatching(/missing/) });
    });

    it('names a forged row inserted with a made-up hash', async () => {
      await fixture.sql(
        `INSERT INTO ${fixture.schema}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
         VALUES ('0190f5a0-0000-7000-8000-000000000001', 'payments-1', 3, 'PaymentRefunded', '{"amount": 100}', '{}', now(), $1, $2)`,
        ['f'.repeat(64), payments[2]!.hash],
      );
      const [forged] = (await fixture.store.readStream('payments-1', { fromVersion: 3n })) as [StoredEvent];
      expect(await verifyEventLog(fixture.store)).toEqual({
        ok: false,
        firstBadPosition: forged.globalPosition,
        streamId: 'payments-1',
        reason: expect.stringMatching(/content altered/),
      });
    });

    it('detects a forged row slipped into sealed history with correctly computed hashes, naming the seal range', async () => {
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
      const result = await verifyEventLog(fixture.store);
      expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/global chain differs from seal \d+: an event after position \d+ and up to position \d+/) });
    });

    it('detects a rewritten event whose own and next hashes were recomputed, through the seal', async () => {
      // The forger rewrites payments-1 v0 and re-chains v1..v2 so the stream looks intact.
      let previousHash = payments[0]!.previousHash;
      for (const original of payments) {
        const data = original.streamVersion === 0n ? { amount: 1 } : original.data;
        const body = canonicalEventBody({ ...original, data }, canonicalJson);
        const hash = eventHash(previousHash, original.streamVersion, body);
        await fixture.sql(`UPDATE ${fixture.schema}.events SET data = $1, hash = $2, previous_hash = $3 WHERE id = $4`, [
          JSON.stringify(data),
          hash,
          previousHash,
          original.id,
        ]);
        previousHash = hash;
      }
      const result = await verifyEventLog(fixture.store);
      expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/global chain differs from seal 0/) });
    });
  });
}
