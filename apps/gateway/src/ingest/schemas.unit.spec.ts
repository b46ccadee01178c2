/**
 * The JSON Schemas publishers validate against live in `schemas/` at the repository root, generated
 * from the zod contract. `npm run schemas` rewrites them; otherwise this test fails when they are stale.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INGEST_EVENT_TYPES, ingestJsonSchema } from '@gatehouse/contracts';

const SCHEMAS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../schemas');
const update = process.env['UPDATE_SCHEMAS'] === '1';
const fileOf = (type: string): string => `${type}.json`;
const render = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;

describe('generated JSON Schemas in schemas/', () => {
  if (update) {
    it('rewrites every schema from the zod contract', async () => {
      await mkdir(SCHEMAS_DIR, { recursive: true });
      for (const type of INGEST_EVENT_TYPES) await writeFile(path.join(SCHEMAS_DIR, fileOf(type)), render(ingestJsonSchema(type)));
    });
    return;
  }

  it.each(INGEST_EVENT_TYPES)('%s is up to date (run `npm run schemas` after changing the contract)', async (type) => {
    const committed = await readFile(path.join(SCHEMAS_DIR, fileOf(type)), 'utf8');
    expect(committed).toBe(render(ingestJsonSchema(type)));
  });

  it('holds no schema of a type that no longer exists', async () => {
    const files = (await readdir(SCHEMAS_DIR)).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(INGEST_EVENT_TYPES.map(fileOf).sort());
  });
});
