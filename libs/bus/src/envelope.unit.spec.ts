import type { StoredEvent } from '@gatehouse/eventstore';
import { decodeEnvelope, encodeEnvelope, fromEnvelope, parseEnvelope, toEnvelope } from './envelope.js';
import { InvalidEnvelopeError } from './errors.js';

const event: StoredEvent = {
  id: '0193a1b2-0000-7000-8000-000000000001',
  type: 'ChangeApproved',
  streamId: 'changeRequest-0193a1b2',
  streamVersion: 3n,
  globalPosition: 9_007_199_254_740_993n, // beyond Number.MAX_SAFE_INTEGER: must survive as a string
  recordedAt: new Date('2026-11-23T10:00:00.123Z'),
  data: { approver: 'alice', role: 'tech-lead' },
  metadata: { correlationId: 'corr-1', causationId: 'cmd-1', actor: 'alice', policyVersion: 'sha256:abc', tenant: 'acme', attempt: 2 },
  hash: 'a'.repeat(64),
  previousHash: '0'.repeat(64),
};

describe('CloudEvents envelope', () => {
  it('maps a stored event to CloudEvents 1.0 attributes and lowercase extensions', () => {
    const envelope = toEnvelope(event, { source: 'gatehouse/approvals' });
    expect(envelope).toMatchObject({
      specversion: '1.0',
      id: event.id,
      source: 'gatehouse/approvals',
      type: 'ChangeApproved',
      time: '2026-11-23T10:00:00.123Z',
      subject: 'changeRequest-0193a1b2',
      datacontenttype: 'application/json',
      data: event.data,
      streamversion: '3',
      globalposition: '9007199254740993',
      correlationid: 'corr-1',
      causationid: 'cmd-1',
      actor: 'alice',
      policyversion: 'sha256:abc',
    });
    for (const key of Object.keys(envelope)) expect(key).toMatch(/^[a-z0-9]+$/);
  });

  it('round-trips through bytes back to the same stored event, extra metadata included', () => {
    const back = fromEnvelope(decodeEnvelope(encodeEnvelope(toEnvelope(event))));
    expect(back).toEqual(event);
  });

  it('keeps non-string known metadata in the JSON bag instead of dropping it', () => {
    // Untyped producers (plain JS, old events) can put anything in metadata.
    const odd = { ...event, metadata: { actor: { id: 'u1' } } } as unknown as StoredEvent;
    expect(fromEnvelope(toEnvelope(odd)).metadata).toEqual({ actor: { id: 'u1' } });
  });

  it('rejects bytes that are not JSON', () => {
    expect(() => decodeEnvelope(new TextEncoder().encode('{nope'))).toThrow(InvalidEnvelopeError);
  });

  it('names every failing attribute', () => {
    const bad = { ...toEnvelope(event), specversion: '0.3', globalposition: '-1' };
    delete (bad as Record<string, unknown>).id;
    try {
      parseEnvelope(bad);
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEnvelopeError);
      expect((error as InvalidEnvelopeError).message).toMatch(/specversion/);
      expect((error as InvalidEnvelopeError).message).toMatch(/globalposition/);
      expect((error as InvalidEnvelopeError).message).toMatch(/id/);
    }
  });

  it('rejects extension names CloudEvents forbids', () => {
    expect(() => parseEnvelope({ ...toEnvelope(event), Bad_Name: 1 })).toThrow(/lowercase alphanumeric/);
  });
});
