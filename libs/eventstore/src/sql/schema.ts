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

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1); LISTEN/NOTIFY channels are identifiers. */
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * The LISTEN/NOTIFY channel announcing appends to the event log in `schema`: a valid unquoted
 * identifier, since schema names are lower-case identifiers. Long schema names are cut to 63
 * characters, so two schemas sharing that prefix share a channel: that only costs spurious wake-ups.
 */
export function appendsChannel(schema: string): string {
  quoteSchema(schema); // validates: the channel is spliced into SQL as well
  return `${schema}_events_appended`.slice(0, MAX_IDENTIFIER_LENGTH);
}
