/**
 * The only thing that differs between PostgreSQL (pg Pool) and PGlite: how a statement is
 * sent. All SQL is shared. Drivers must return int8 and xid8 values as decimal strings
 * (never JS numbers, which lose precision), jsonb parsed, timestamptz as Date.
 */
export interface SqlQueryable {
  /** `name` lets drivers that support it reuse a prepared statement (hot paths only). */
  query<Row>(text: string, params?: readonly unknown[], name?: string): Promise<Row[]>;
  /** Like query, rows as arrays in column order: no per-row object, for the million-row read path. */
  queryArrays(text: string, params?: readonly unknown[], name?: string): Promise<unknown[][]>;
  /** Runs a parameterless script that may hold several statements (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Loads rows with COPY in text format, the fastest way into a table: `into` names the table and its
   * columns (`schema.table (a, b)`), `text` holds the rows, one per line, fields separated by tabs and
   * escaped with `copyTextField`. Outside a transaction the load commits on its own.
   */
  copyIn(into: string, text: string): Promise<void>;
}

export interface SqlExecutor extends SqlQueryable {
  /** Runs `work` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATE of a unique violation. */
export const UNIQUE_VIOLATION = '23505';

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A field of a COPY text-format row: backslash, tab, newline and carriage return escaped, so JSON text keeps its backslashes. */
export function copyTextField(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : value;
}
