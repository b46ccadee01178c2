import { canonicalJson, NotJsonError } from './canonicalJson.js';
import { canonicalEventBody, canonicalEventBodyFromJson, eventHash, GENESIS_HASH, nextChainHash } from './hashing.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members, so key order never changes a hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('is stable through a JSON round trip (what jsonb gives back)', () => {
    const value = { n: 1e21, f: 0.1, neg: -0, s: 'é\n"', list: [true, null], when: new Date(0) };
    const once = canonicalJson(value);
    expect(canonicalJson(JSON.parse(once))).toBe(once);
  });

  it.each([
    ['NaN', { x: Number.NaN }, '$.x'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0]'],
    ['bigint', { x: 1n }, '$.x'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', { s: Symbol('s') }, '$.s'],
    ['undefined in an array', [undefined], '$[0]'],
    ['NUL', { s: 'a\u0000' }, '$.s'],
    ['an unpaired surrogate', { s: '\ud800' }, '$.s'],
    ['a Map', { m: new Map() }, '$.m'],
  ])('refuses %s and names where', (_what, value, path) => {
    expect(() => canonicalJson(value)).toThrow(NotJsonError);
    try {
      canonicalJson(value);
    } catch (error) {
      expect((error as NotJsonError).path).toBe(path);
    }
  });

  it('refuses cycles but accepts the same object twice', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow('circular');
  });
});

describe('hashes', () => {
  it('event hash depends on the previous hash, the version and the body', () => {
    const base = eventHash(GENESIS_HASH, 0n, '{}');
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash('1'.repeat(64), 0n, '{}')).not.toBe(base);
    expect(eventHash(GENESIS_HASH, 1n, '{}')).not.toBe(base);
    expect(eventHash(GENESIS_HASH, 0n, '{"a":1}')).not.toBe(base);
  });

  it('matches the formula the SQL append uses (sha256 of "prev|version|body")', () => {
    // Independent check: printf '%s' "$(printf '0%.0s' $(seq 1 64))|0|{}" | sha256sum
    expect(eventHash(GENESIS_HASH, 0n, '{}')).toBe('cb048774a7623e035218ea3f1b4ae8032b9628361b418d0c29c28ea83806ad2c');
  });

  it('chain hash depends on the event hash and its position', () => {
    const link = nextChainHash(GENESIS_HASH, 'a'.repeat(64), 1n);
    expect(nextChainHash(GENESIS_HASH, 'a'.repeat(64), 2n)).not.toBe(link);
    expect(nextChainHash(GENESIS_HASH, 'b'.repeat(64), 1n)).not.toBe(link);
  });
});

describe('event body', () => {
  it('assembled from canonical pieces equals the canonical JSON of the whole event', () => {
    const event = {
      id: '0190f5a0-0000-7000-8000-000000000001',
      type: 'Apprové "quoted"',
      streamId: 'change-42\n',
      recordedAt: new Date('2026-11-23T05:01:40.123Z'),
      data: { z: 1, a: [{ y: null, b: 'x' }] },
      metadata: { actor: 'ann', correlationId: 'c' },
    };
    const whole = canonicalJson({ ...event, recordedAt: event.recordedAt.toISOString() });
    expect(canonicalEventBody(event, canonicalJson)).toBe(whole);
    expect(
      canonicalEventBodyFromJson({
        id: JSON.stringify(event.id),
        type: canonicalJson(event.type),
        streamId: canonicalJson(event.streamId),
        recordedAt: event.recordedAt,
        dataJson: canonicalJson(event.data),
        metadataJson: canonicalJson(event.metadata),
      }),
    ).toBe(whole);
  });
});
