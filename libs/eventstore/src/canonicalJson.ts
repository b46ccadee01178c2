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
  try {
    return serialise(value, new Set());
  } catch (error) {
    if (error instanceof Refusal) throw new NotJsonError(`$${error.segments.reverse().join('')}`, error.reason);
    throw error;
  }
}

/**
 * A refusal on its way up: each enclosing array or object adds its segment as it passes, so the
 * path (the JSONPath of the culprit) is only built when something is refused, not for every member.
 */
class Refusal {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {}
}

const within = (error: unknown, segment: string): unknown => {
  if (error instanceof Refusal) error.segments.push(segment);
  return error;
};

/** NUL or any surrogate: rare, and only then is the string looked at closely. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

function serialise(value: unknown, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(`${value} is not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value);
    case 'object':
      return serialiseObject(value, ancestors);
    default:
      // undefined, bigint, function, symbol: JSON has no faithful representation for them.
      throw new Refusal(`${typeof value} is not JSON`);
  }
}

function serialiseString(value: string): string {
  if (SUSPECT.test(value)) {
    // jsonb rejects NUL and unpaired surrogates; refusing here keeps the write all-or-nothing.
    if (value.includes('\u0000')) throw new Refusal('strings must not contain NUL (\\u0000)');
    if (UNPAIRED_SURROGATE.test(value)) throw new Refusal('string contains an unpaired UTF-16 surrogate');
  }
  return JSON.stringify(value);
}

function serialiseObject(value: object, ancestors: Set<object>): string {
  const withToJson = value as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    return serialise((withToJson.toJSON as () => unknown).call(value), ancestors);
  }
  if (ancestors.has(value)) throw new Refusal('circular reference');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      let json = '[';
      for (let index = 0; index < value.length; index++) {
        try {
          json += (index === 0 ? '' : ',') + serialise(value[index], ancestors);
        } catch (error) {
          throw within(error, `[${index}]`);
        }
      }
      return `${json}]`;
    }
    // Plain objects of any realm (jest VMs, worker messages): their prototype is a root prototype.
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== null && Object.getPrototypeOf(prototype) !== null) {
      throw new Refusal(`instances of ${value.constructor?.name ?? 'a class'} are not plain JSON objects`);
    }
    const record = value as Record<string, unknown>;
    let json = '{';
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      // A refused key is named by its object's path, a refused value by its own.
      const keyJson = serialiseString(key);
      try {
        json += `${json.length === 1 ? '' : ','}${keyJson}:${serialise(member, ancestors)}`;
      } catch (error) {
        throw within(error, `.${key}`);
      }
    }
    return `${json}}`;
  } finally {
    ancestors.delete(value);
  }
}
