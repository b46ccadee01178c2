/**
 * Canonical JSON: the one serialisation every adapter hashes, so a hash computed when an
 * event is appended can be recomputed from the row read back (jsonb reorders keys and
 * reformats numbers, so the stored text cannot be hashed directly).
 *
 * Rules: object keys sorted by UTF-16 code units, no whitespace, `undefined` object members
 * dropped (as JSON.stringify does), `toJSON()` honoured (Dates become ISO strings).
 * Values PostgreSQL's jsonb cannot store faithfully are refused instead of silently altered.
 */

/** A lone high or low surrogate: valid in a JS string, refused by PostgreSQL. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Why a value cannot be stored as JSON; `path` is a JSONPath-like pointer to the culprit. */
export class NotJsonError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** Serialises `value` canonically; throws NotJsonError if it is not faithfully storable as JSON. */
export function canonicalJson(value: unknown): string {
  return serialise(value, '$', new Set());
}

function serialise(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, `${value} is not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value, path);
    case 'object':
      return serialiseObject(value, path, ancestors);
    default:
      // undefined, bigint, function, symbol: JSON has no faithful representation for them.
      throw new NotJsonError(path, `${typeof value} is not JSON`);
  }
}

function serialiseString(value: string, path: string): string {
  // jsonb rejects NUL and unpaired surrogates; refusing here keeps the write all-or-nothing.
  if (value.includes('\u0000')) throw new NotJsonError(path, 'strings must not contain NUL (\\u0000)');
  if (UNPAIRED_SURROGATE.test(value)) throw new NotJsonError(path, 'string contains an unpaired UTF-16 surrogate');
  return JSON.stringify(value);
}

function serialiseObject(value: object, path: string, ancestors: Set<object>): string {
  const withToJson = value as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    return serialise((withToJson.toJSON as () => unknown).call(value), path, ancestors);
  }
  if (ancestors.has(value)) throw new NotJsonError(path, 'circular reference');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item, index) => serialise(item, `${path}[${index}]`, ancestors)).join(',')}]`;
    }
    // Plain objects of any realm (jest VMs, worker messages): their prototype is a root prototype.
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== null && Object.getPrototypeOf(prototype) !== null) {
      throw new NotJsonError(path, `instances of ${value.constructor?.name ?? 'a class'} are not plain JSON objects`);
    }
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${serialiseString(key, path)}:${serialise(member, `${path}.${key}`, ancestors)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
