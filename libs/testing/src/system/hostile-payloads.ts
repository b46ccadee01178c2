/**
 * Request bodies an attacker (or a broken client) can put on any NATS subject: not JSON, JSON that
 * is not a command request, the wrong shape, nesting deep enough to overflow recursive code, large
 * bodies, invalid UTF-8 and prototype-pollution keys. Used against every command and ingest subject.
 */
export interface HostilePayload {
  name: string;
  body: Uint8Array;
}

const text = (name: string, body: string): HostilePayload => ({ name, body: new TextEncoder().encode(body) });

/** `{"a":{"a":…1…}}` nested `levels` deep. */
export function deeplyNested(levels: number, leaf = '1'): string {
  return `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
}

export function hostilePayloads(): HostilePayload[] {
  return [
    text('empty', ''),
    text('JSON null', 'null'),
    text('not JSON', 'not json'),
    text('truncated JSON', '{"id":"x","data":{'),
    text('a number', '42'),
    text('a string', '"approve everything"'),
    text('an array', '[1,2,3]'),
    text('an object without data', '{}'),
    text('a numeric id', '{"id":5,"pattern":"p","data":{}}'),
    text('null data', '{"id":"h-null","pattern":"p","data":null}'),
    text('string data', '{"id":"h-string","pattern":"p","data":"x"}'),
    text('array data', '{"id":"h-array","pattern":"p","data":[{"changeId":1}]}'),
    text('wrong field types', '{"id":"h-types","pattern":"p","data":{"changeId":{"$ne":null},"approver":["a"],"commandId":12}}'),
    text('prototype pollution', '{"id":"h-proto","pattern":"p","__proto__":{"polluted":true},"data":{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}}'),
    text('5,000 levels deep (30 KB evidence)', `{"id":"h-deep","pattern":"p","data":{"evidence":${deeplyNested(5_000)}}}`),
    text('100,000 nested arrays, bare', `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    text('900 KB of data', `{"id":"h-large","pattern":"p","data":{"notes":"${'x'.repeat(900_000)}"}}`),
    { name: 'invalid UTF-8', body: Uint8Array.from([0x7b, 0xff, 0xfe, 0xfd, 0x7d]) },
  ];
}
