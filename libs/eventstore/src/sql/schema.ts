import { InvalidArgumentError } from '../errors.js';

/** Default PostgreSQL schema holding the event store tables. */
export const DEFAULT_SCHEMA = 'gatehouse';

/** Lower-case identifiers only: the name is spliced into SQL, so nothing needing quotes is accepted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A validated, quoted schema name safe to splice into SQL text. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new InvalidArgumentError('schema', `'${schema}' must match ${String(SCHEMA_NAME)}`);
  }
  return `"${schema}"`;
}
