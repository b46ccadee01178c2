import { CreateReleasePayload, RecordGateResultPayload, RecordMigrationPayload, SubmitChangePayload } from '@gatehouse/contracts';
import { releaseIdFor } from '../lifecycle/ids.js';
import { ingestCommandId, initiatorClaimOf, mapIngestEvent } from './ingest-mapping.js';

const origin = { actor: 'ci-bot', correlationId: 'req-1' };
const envelope = { specversion: '1.0', id: 'evt-1', source: 'ci/campaign-api' } as const;
const release = { service: 'campaign-api', version: '2.1.0' };

describe('mapIngestEvent', () => {
  it('maps a gate result named by service+version to recordGateResult on the release built from the same version', () => {
    const mapping = mapIngestEvent(
      {
        ...envelope,
        type: 'gatehouse.testgate.result',
        correlationid: 'pipeline-9',
        data: { release, environment: 'production', gateId: 'load-test', status: 'timed_out', startedAt: '2026-12-01T08:00:00Z', finishedAt: '2026-12-01T09:00:00Z' },
      },
      origin,
    );
    expect(mapping).toEqual({
      ok: true,
      type: 'gatehouse.testgate.result',
      commandId: ingestCommandId('ci/campaign-api', 'evt-1'),
      command: {
        context: 'changeRequests',
        command: 'recordGateResult',
        payload: {
          commandId: ingestCommandId('ci/campaign-api', 'evt-1'),
          actor: 'ci-bot',
          correlationId: 'pipeline-9',
          releaseId: releaseIdFor('campaign-api', '2.1.0'),
          environment: 'production',
          gateId: 'load-test',
          status: 'timed_out',
          startedAt: '2026-12-01T08:00:00Z',
          finishedAt: '2026-12-01T09:00:00Z',
        },
      },
    });
  });

  it('produces payloads the change-requests contracts accept', () => {
    const cases = [
      [CreateReleasePayload, { ...envelope, type: 'gatehouse.release.built', data: { ...release, type: 'minor', title: 'Spring', changes: [{ kind: 'feature', description: 'x' }] } }],
      [
        RecordGateResultPayload,
        { ...envelope, type: 'gatehouse.testgate.result', data: { release, environment: 'staging', gateId: 'e2e', status: 'running', startedAt: '2026-12-01T08:00:00Z', summary: 'half way' } },
      ],
      [
        RecordMigrationPayload,
        { ...envelope, type: 'gatehouse.migration.included', data: { release, migrationId: '0042_add_index', description: 'adds an index', reversible: false, database: 'campaigns' } },
      ],
      [
        SubmitChangePayload,
        {
          ...envelope,
          initiator: 'ivan',
          type: 'gatehouse.deployment.requested',
          data: {
            release,
            environment: 'staging',
            changeRequest: {
              title: 't', description: 'd', type: 'enhancement', priority: 'low', impact: 'low', risk: 'low',
              schedule: { planned: '2026-12-01T14:00:00Z', duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
            },
          },
        },
      ],
    ] as const;
    for (const [contract, event] of cases) {
      const mapping = mapIngestEvent(event, origin);
      if (!mapping.ok) throw new Error(JSON.stringify(mapping.issues));
      expect(contract.safeParse(mapping.command.payload).error?.issues ?? []).toEqual([]);
    }
  });

  const deploymentRequested = {
    ...envelope,
    type: 'gatehouse.deployment.requested',
    data: {
      release,
      environment: 'staging',
      changeRequest: {
        title: 't', description: 'd', type: 'enhancement', priority: 'low', impact: 'low', risk: 'low',
        schedule: { planned: '2026-12-01T14:00:00Z', duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
      },
    },
  };

  it('without a token claim, carries the body’s initiator beside the publisher as author, recorded as the publisher’s assertion', () => {
    const mapping = mapIngestEvent({ ...deploymentRequested, initiator: 'ivan' }, origin);
    expect(mapping).toMatchObject({ ok: true, command: { command: 'submitChange', payload: { draft: { author: origin.actor, initiator: 'ivan', initiatorSource: 'publisher_assertion' } } } });
    expect(mapIngestEvent(deploymentRequested, origin)).toEqual({ ok: false, issues: [{ field: 'initiator', reason: expect.stringContaining('name the person whose push') }] });
  });

  it('takes the initiator from the CI token’s claim: the body may repeat it, not contradict it', () => {
    const claimed = { ...origin, initiatorClaim: { claim: 'actor', person: 'ivan' } };
    expect(mapIngestEvent(deploymentRequested, claimed)).toMatchObject({ ok: true, command: { payload: { draft: { initiator: 'ivan', initiatorSource: 'token_claim' } } } });
    expect(mapIngestEvent({ ...deploymentRequested, initiator: 'ivan' }, claimed)).toMatchObject({ ok: true, command: { payload: { draft: { initiator: 'ivan', initiatorSource: 'token_claim' } } } });
    expect(mapIngestEvent({ ...deploymentRequested, initiator: 'mallory' }, claimed)).toEqual({
      ok: false,
      issues: [{ field: 'initiator', reason: expect.stringContaining('"mallory" contradicts the CI token\'s \'actor\' claim ("ivan")') }],
    });
  });

  it('reads the initiator claim by name or dotted path, only as a non-empty string', () => {
    expect(initiatorClaimOf({ actor: 'ivan' }, 'actor')).toEqual({ claim: 'actor', person: 'ivan' });
    expect(initiatorClaimOf({ ci: { pusher: 'ivan' } }, 'ci.pusher')).toEqual({ claim: 'ci.pusher', person: 'ivan' });
    expect(initiatorClaimOf({ actor: '  ' }, 'actor')).toBeUndefined();
    expect(initiatorClaimOf({ actor: ['ivan'] }, 'actor')).toBeUndefined();
    expect(initiatorClaimOf(undefined, 'actor')).toBeUndefined();
  });

  it('maps a migration to recordMigration with the release id given', () => {
    const mapping = mapIngestEvent(
      { ...envelope, type: 'gatehouse.migration.included', data: { release: { releaseId: 'rel-7' }, migrationId: '0042', description: 'index', reversible: false } },
      origin,
    );
    expect(mapping).toMatchObject({ ok: true, command: { command: 'recordMigration', payload: { releaseId: 'rel-7', migrationId: '0042', reversible: false, correlationId: 'req-1' } } });
  });

  it('gives the same fact from two sources two command ids, and a redelivered fact the same one', () => {
    expect(ingestCommandId('ci/a', 'evt-1')).toBe(ingestCommandId('ci/a', 'evt-1'));
    expect(ingestCommandId('ci/a', 'evt-1')).not.toBe(ingestCommandId('ci/b', 'evt-1'));
    expect(releaseIdFor('a', '1.0.0')).not.toBe(releaseIdFor('a', '1.0.1'));
  });

  it('refuses with field and reason, never a partial command', () => {
    expect(mapIngestEvent('not an object', origin)).toEqual({ ok: false, issues: [{ field: 'type', reason: expect.stringContaining('gatehouse.release.built') }] });
    const running = mapIngestEvent(
      { ...envelope, type: 'gatehouse.testgate.result', data: { release, environment: 'staging', gateId: 'e2e', status: 'passed', startedAt: '2026-12-01T10:00:00Z', finishedAt: '2026-12-01T09:00:00Z' } },
      origin,
    );
    expect(running).toEqual({ ok: false, issues: [{ field: 'data.finishedAt', reason: 'must not be before startedAt' }] });
    const envelopeless = mapIngestEvent({ type: 'gatehouse.release.built', data: { ...release, type: 'minor', title: 't' } }, origin);
    expect(envelopeless.ok === false && envelopeless.issues.map((i) => i.field).sort()).toEqual(['id', 'source', 'specversion']);
  });
});
