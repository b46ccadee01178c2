import { protocol, type PGlite } from '@electric-sql/pglite';

/*
 * Named prepared statements for PGlite. PGlite's query() sends every call through the unnamed
 * statement: Parse, Describe, Bind, Describe, Execute and Sync, six calls into the WASM backend,
 * the statement parsed and planned each time. A statement prepared once under a name (Parse +
 * Describe once per database) then runs as one call: Bind + Execute + Sync in one buffer, the
 * plan cached by PostgreSQL (custom plans for the first five runs, then a generic one when it is
 * as cheap, exactly as a named statement over the wire with pg).
 */

type Parser = (text: string, typeId: number) => unknown;
type Serializer = (value: unknown) => string;
type BackendMessage = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];
type ParameterDescription = InstanceType<typeof protocol.messages.ParameterDescriptionMessage>;
type RowDescription = InstanceType<typeof protocol.messages.RowDescriptionMessage>;
type DataRow = InstanceType<typeof protocol.messages.DataRowMessage>;

interface Prepared {
  /** Serializer of each parameter, by the type PostgreSQL inferred for it. */
  serializers: (Serializer | undefined)[];
  columns: { name: string; oid: number; parse: Parser | undefined }[];
}

/** SQLSTATE of "prepared statement does not exist" (e.g. after DEALLOCATE ALL). */
const INVALID_SQL_STATEMENT_NAME = '26000';

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

const SYNC = protocol.serialize.sync();

/** Statements are session state, shared by every store over one PGlite instance. */
const preparedByInstance = new WeakMap<PGlite, Map<string, Promise<Prepared>>>();

/**
 * Runs `text` as the named statement `name` on `db`, preparing it on first use. The caller must
 * hold PGlite's query lock (see pgliteExecutor); `inTransaction` keeps the data folder from being
 * synced halfway through a transaction, as PGlite's own query() does.
 */
export async function runPrepared(
  db: PGlite,
  parsers: Readonly<Record<number, Parser>>,
  name: string,
  text: string,
  params: readonly unknown[],
  rowMode: 'object' | 'array',
  inTransaction: boolean,
): Promise<unknown[]> {
  let statements = preparedByInstance.get(db);
  if (statements === undefined) preparedByInstance.set(db, (statements = new Map()));
  for (let attempt = 1; ; attempt++) {
    let prepared = statements.get(name);
    if (prepared === undefined) {
      prepared = prepare(db, parsers, name, text);
      statements.set(name, prepared);
      prepared.catch(() => statements.delete(name));
    }
    const { serializers, columns } = await prepared;
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serialize = serializers[index];
      return serialize === undefined ? String(value) : serialize(value);
    });
    const message = concat([protocol.serialize.bind({ statement: name, values }), protocol.serialize.execute({}), SYNC]);
    let messages: BackendMessage[];
    try {
      messages = await db.execProtocolStream(message, { syncToFs: !inTransaction });
    } catch (error) {
      if ((error as { code?: unknown }).code === INVALID_SQL_STATEMENT_NAME && attempt === 1) {
        statements.delete(name);
        continue;
      }
      throw error;
    }
    return toRows(messages, columns, rowMode);
  }
}

async function prepare(db: PGlite, parsers: Readonly<Record<number, Parser>>, name: string, text: string): Promise<Prepared> {
  const messages = await db.execProtocolStream(
    concat([protocol.serialize.parse({ name, text }), protocol.serialize.describe({ type: 'S', name }), SYNC]),
    { syncToFs: false },
  );
  const own = db.serializers as Record<number, Serializer | undefined>;
  const defaults = db.parsers as Record<number, Parser | undefined>;
  let paramTypes: number[] = [];
  let fields: { name: string; dataTypeID: number }[] = [];
  for (const message of messages) {
    if (message.name === 'parameterDescription') paramTypes = (message as ParameterDescription).dataTypeIDs;
    else if (message.name === 'rowDescription') fields = (message as RowDescription).fields;
  }
  return {
    serializers: paramTypes.map((oid) => own[oid]),
    columns: fields.map((field) => ({ name: field.name, oid: field.dataTypeID, parse: parsers[field.dataTypeID] ?? defaults[field.dataTypeID] })),
  };
}

function toRows(messages: BackendMessage[], columns: Prepared['columns'], rowMode: 'object' | 'array'): unknown[] {
  const rows: unknown[] = [];
  for (const message of messages) {
    if (message.name !== 'dataRow') continue;
    const { fields } = message as DataRow;
    if (rowMode === 'array') {
      const row = new Array<unknown>(fields.length);
      for (let i = 0; i < fields.length; i++) row[i] = parseField(fields[i] ?? null, columns[i]);
      rows.push(row);
    } else {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) row[columns[i]?.name ?? String(i)] = parseField(fields[i] ?? null, columns[i]);
      rows.push(row);
    }
  }
  return rows;
}

const parseField = (text: string | null, column: Prepared['columns'][number] | undefined): unknown =>
  text === null || column?.parse === undefined ? text : column.parse(text, column.oid);
