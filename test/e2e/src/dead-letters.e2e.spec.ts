/**
 * Dead letters in the distributed form, as an operator meets them: an event a consumer cannot read is
 * parked with the reason; an SRE lists, reads and redrives it through the gateway and through the
 * `gatehouse dlq` CLI; anyone else is refused and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { encodeEnvelope, eventSubjectFor, toEnvelope } from '@gatehouse/bus';
import { GatehouseClient, type GatehouseSystem, type Json, natsUrl, REPO_ROOT, requireNats, requirePostgres, startDistributedGatehouse } from '@gatehouse/testing';
import { START_AT } from './scenarios.js';

const LIFECYCLE_CONSUMER = 'change-requests-lifecycle';
/** Why a consumer parks an event it must not fold: data failing its schema, or (store-checked consumers) not in the store. */
const POISON_REASONS = ['invalid_data', 'event_not_in_store'];

describe('dead letters (distributed form): list, show and redrive through HTTP and the CLI', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  const eventId = randomUUID();

  beforeAll(async () => {
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    system = await startDistributedGatehouse({ startAt: START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    // An approval event whose data the change lifecycle cannot read (no subject): poison for it.
    const nc = await connect({ servers: natsUrl() });
    try {
      const event = {
        id: eventId,
        streamId: 'approval-cr-unreadable',
        type: 'ChangeFullyApproved',
        streamVersion: 0n,
        globalPosition: 1n,
        recordedAt: new Date(START_AT),
        data: { approvalId: 'cr-unreadable' },
        metadata: { actor: 'approvals' },
        hash: '0'.repeat(64),
        previousHash: '0'.repeat(64),
      };
      await nc.publish(eventSubjectFor(event.streamId, event.type, system.natsSubjectPrefix), encodeEnvelope(toEnvelope(event as never)));
      await nc.flush();
    } finally {
      await nc.close();
    }
  }, 180_000);
  afterAll(async () => system?.close());

  const listed = async (user = 'sam'): Promise<Json[]> => (await client.ok('GET', '/api/admin/dead-letters', user)).deadLetters;
  const ours = async (): Promise<Json[]> => (await listed()).filter((d: Json) => d.eventId === eventId && d.consumer === LIFECYCLE_CONSUMER);

  function cli(args: string[], token: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync('node', [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), 'dlq', ...args, '--url', system.url], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', GATEHOUSE_TOKEN: token },
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('an SRE sees the parked event with the consumer and the reason, and reads the message it holds', async () => {
    const [parked] = await client.waitFor('the dead letter', async () => {
      const found = await ours();
      return found.length > 0 ? found : undefined;
    });
    expect(parked).toMatchObject({ consumer: LIFECYCLE_CONSUMER, eventId, errorName: expect.any(String), originalSubject: expect.stringMatching(/\.evt\.approval\.ChangeFullyApproved$/) });
    // Its data fails the lifecycle's schema; where consumers check events against the store, that check parks it first.
    expect(POISON_REASONS).toContain(parked.reason);
    const shown = await client.ok('GET', `/api/admin/dead-letters/${parked.id}`, 'rel');
    expect(shown.deadLetter.payload).toMatchObject({ id: eventId, type: 'ChangeFullyApproved', data: { approvalId: 'cr-unreadable' } });
  });

  it('refuses other roles (403) and bad ids (400), answers 404 for an unknown one, and changes nothing', async () => {
    const [parked] = await ours();
    for (const [method, url] of [
      ['GET', '/api/admin/dead-letters'],
      ['GET', `/api/admin/dead-letters/${parked.id}`],
      ['POST', `/api/admin/dead-letters/${parked.id}/redrive`],
    ] as const) {
      const refused = await client.call(method, url, 'ana');
      expect(refused.status).toBe(403);
      expect(refused.body.message).toMatch(/needs one of the roles sre, release_engineer/);
    }
    expect((await client.call('GET', '/api/admin/dead-letters', undefined)).status).toBe(401);
    const bad = await client.call('POST', '/api/admin/dead-letters/first/redrive', 'sam');
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toContainEqual(expect.objectContaining({ field: 'id' }));
    expect((await client.call('GET', '/api/admin/dead-letters?limit=0', 'sam')).status).toBe(400);
    expect((await client.call('GET', '/api/admin/dead-letters/987654321', 'sam')).status).toBe(404);
    expect((await ours()).map((d: Json) => d.id)).toEqual([parked.id]);
  });

  it('a redrive hands it back to the consumer that parked it, which parks it again with the reason (its data is still unreadable)', async () => {
    const [parked] = await ours();
    const reply = await client.ok('POST', `/api/admin/dead-letters/${parked.id}/redrive`, 'rel');
    expect(reply).toMatchObject({ redriven: { id: parked.id, consumer: LIFECYCLE_CONSUMER, eventId }, redrivenBy: 'rel' });
    const again = await client.waitFor('the event parked again', async () => {
      const found = await ours();
      return found.length === 1 && found[0].id !== parked.id ? found[0] : undefined;
    });
    expect(again).toMatchObject({ reason: parked.reason, deliveryCount: 1 });
    // A second redrive of the old id: it is no longer a dead letter.
    expect((await client.call('POST', `/api/admin/dead-letters/${parked.id}/redrive`, 'rel')).status).toBe(404);
  });

  it('gatehouse dlq list|show|redrive do the same from a terminal, and a developer token is refused', async () => {
    const sre = await client.token('sam');
    const list = cli(['list'], sre);
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    const line = list.stdout.split('\n').find((l) => l.includes(eventId) && l.includes(LIFECYCLE_CONSUMER));
    expect(line).toBeDefined();
    const id = line!.split('\t')[0]!;
    const show = cli(['show', id], sre);
    expect(show.status).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id, reason: expect.any(String), payload: { id: eventId } });
    const refused = cli(['redrive', id], await client.token('ana'));
    expect(refused.status).toBe(4);
    expect(refused.stderr).toMatch(/403 Forbidden: redriving dead letters needs one of the roles sre, release_engineer/);
    expect(cli(['redrive', 'abc'], sre)).toMatchObject({ status: 2, stderr: expect.stringMatching(/dead letter id 'abc' must be a positive whole number/) });
    const redrive = cli(['redrive', id], sre);
    expect(redrive.stdout).toBe(`dead letter ${id} redriven to ${LIFECYCLE_CONSUMER} (event ${eventId})\n`);
    expect(redrive.status).toBe(0);
  });
});
