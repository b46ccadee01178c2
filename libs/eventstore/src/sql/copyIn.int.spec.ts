/**
 * COPY loads (SqlQueryable.copyIn) on PGlite and PostgreSQL: text with every character COPY's text format
 * treats specially comes back as written, a load the server refuses fails with nothing loaded, and the
 * connection it used serves the next statement.
 */
import { sqlStoreKinds } from '../contract/sqlStoreKinds.js';
import type { AuditableEventStore } from '../types.js';
import { copyTextField } from './executor.js';

// PostgreSQL with one connection: a refused load that left it unusable would fail the next statement.
const kinds = await sqlStoreKinds('copy_in', { maxConnections: 1 });

const rows = [
  { key: 'plain', ord: 1, value: { a: 1 } },
  { key: 'tab\there', ord: 2, value: { note: 'line\nbreak\tand tab\r', path: 'C:\\dir\\file', quote: '"q"' } },
  { key: 'back\\slash\nnewline', ord: 3, value: { unicode: 'été ☃ 𝄞', empty: '', nested: [null, true, { deep: '\\N' }] } },
];
const asCopyText = (list: typeof rows): string => list.map((r) => `${copyTextField(r.key)}\t${r.ord}\t${copyTextField(JSON.stringify(r.value))}\n`).join('');

describe.each(kinds)('copyIn (%s)', (_, open) => {
  let store: AuditableEventStore;
  let cleanup: () => Promise<void>;
  let table: string;
  beforeAll(async () => {
    ({ store, cleanup } = await open());
    table = `"${store.sql!.schema}".copy_target`;
    await store.sql!.executor.exec(`CREATE TABLE ${table} (key text PRIMARY KEY, ord bigint NOT NULL, value json NOT NULL)`);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  it('loads text with tabs, newlines, backslashes and unicode exactly as written', async () => {
    await store.sql!.executor.copyIn(`${table} (key, ord, value)`, asCopyText(rows));
    const back = await store.sql!.executor.query<{ key: string; ord: string; value: string }>(`SELECT key, ord, value::text AS value FROM ${table} ORDER BY ord`);
    expect(back.map((r) => ({ key: r.key, ord: Number(r.ord), value: JSON.parse(r.value) }))).toEqual(rows);
  });

  it('a load the server refuses fails whole, and the next statement works', async () => {
    const bad = `fresh\t4\t{"ok":true}\n` + `broken\t5\tnot json\n`;
    await expect(store.sql!.executor.copyIn(`${table} (key, ord, value)`, bad)).rejects.toThrow(/json/i);
    const keys = await store.sql!.executor.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY ord`);
    expect(keys.map((r) => r.key)).toEqual(rows.map((r) => r.key));
    await store.sql!.executor.copyIn(`${table} (key, ord, value)`, `fresh\t4\t{"ok":true}\n`);
    expect(await store.sql!.executor.query(`SELECT key FROM ${table} WHERE key = 'fresh'`)).toHaveLength(1);
  });
});
