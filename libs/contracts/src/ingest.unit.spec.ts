import { IngestEvent, INGEST_EVENT_TYPES, ingestJsonSchema } from './ingest.js';

const base = { specversion: '1.0', id: 'build-4711', source: 'ci/campaign-api' } as const;

describe('ingest contract', () => {
  it('accepts a release built with its changes and defaults the list', () => {
    const event = IngestEvent.parse({
      ...base,
      type: 'gatehouse.release.built',
      data: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'Spring campaigns' },
    });
    expect(event.type === 'gatehouse.release.built' && event.data.changes).toEqual([]);
  });

  it('names the field and reason of a finished gate without finishedAt, and of unknown fields', () => {
    const result = IngestEvent.safeParse({
      ...base,
      type: 'gatehouse.testgate.result',
      data: { release: { service: 'campaign-api', version: '2.1.0' }, environment: 'staging', gateId: 'e2e', status: 'passed', startedAt: '2026-12-01T10:00:00Z' },
      priority: 'high',
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['']));
    const gate = IngestEvent.safeParse({
      ...base,
      type: 'gatehouse.testgate.result',
      data: { release: { releaseId: 'r1' }, environment: 'staging', gateId: 'e2e', status: 'passed', startedAt: '2026-12-01T10:00:00Z' },
    });
    expect(gate.error?.issues).toEqual([expect.objectContaining({ path: ['data', 'finishedAt'] })]);
  });

  it('refuses an unknown type and a version that is not semver', () => {
    expect(IngestEvent.safeParse({ ...base, type: 'gatehouse.release.deleted', data: {} }).success).toBe(false);
    const bad = IngestEvent.safeParse({ ...base, type: 'gatehouse.release.built', data: { service: 'campaign-api', version: 'v2', type: 'minor', title: 't' } });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['data.version']);
  });

  it('has a JSON Schema per type that requires the envelope and names the type', () => {
    for (const type of INGEST_EVENT_TYPES) {
      const schema = ingestJsonSchema(type) as { required: string[]; properties: { type: { const: string } }; additionalProperties: boolean };
      expect(schema.required).toEqual(expect.arrayContaining(['specversion', 'id', 'source', 'type', 'data']));
      expect(schema.properties.type.const).toBe(type);
      expect(schema.additionalProperties).toBe(false);
    }
  });
});
