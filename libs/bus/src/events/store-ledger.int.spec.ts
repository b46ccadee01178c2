/**
 * Embedded mode never loses a reaction: events set aside and dead letters live in the store (PGlite on disk,
 * as `npm start` runs it), so a restart of the host in the middle of a retry takes them back, and the
 * reaction happens once. Dead letters are listed, read and redriven over the bus (`deadLetters.*`, what
 * /api/admin/dead-letters and `gatehouse dlq` call), with the same contract as the JetStream form.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AuditableEventStore, createPgliteEventStore } from '@gatehouse/eventstore';
import { createInProcessCommandBus } from '../commands/in-process.js';
import { OutOfOrderError, PoisonMessageError, type ReceivedEvent } from './consumer.js';
import { DEAD_LETTER_CONTEXT, registerDeadLetterCommands } from './dead-letters.js';
import { createInProcessEventConsumerFactory } from './factory.js';
import { createStoreDeadLetterAdmin, DEAD_LETTER_LEDGER_STREAM, setAsideStream } from './store-ledger.js';

/** Polls (sync or async) until `predicate` holds. */
async function waitFor(predicate: () => boolean | Promise<boolean>, { timeoutMs = 10_000 } = {}): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await predicate()); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
  }
}

describe('embedded dead letters and set-aside events, kept in the store across restarts', () => {
  let dataDir: string;
  let store: AuditableEventStore;
  const open = async (): Promise<AuditableEventStore> => (store = await createPgliteEventStore({ dataDir }));

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-ledger-'));
    await open();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an event set aside for a fact survives a restart of the host mid-retry, and its reaction happens once when the fact comes', async () => {
    // Monitoring's watch ended before deployments' success was committed: the reaction waits for it.
    await store.appendToStream('watch-1', [{ type: 'WatchCompleted', data: { deploymentId: 'd-1' } }]);
    await store.appendToStream('other-1', [{ type: 'Unrelated', data: {} }]);
    /** What the outside world saw: each reaction performed. */
    const reactions: string[] = [];
    const seen = new Set<string>();
    const handler = ({ event }: ReceivedEvent) => {
      if (event.type === 'DeploymentSucceeded') seen.add((event.data as { deploymentId: string }).deploymentId);
      if (event.type === 'WatchCompleted') {
        if (!seen.has((event.data as { deploymentId: string }).deploymentId)) throw new OutOfOrderError('the deployment has not succeeded yet');
        reactions.push(`close after ${event.id}`);
      }
    };
    const subscribe = () =>
      createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, retryDelayMs: () => 50 }).consume({ name: 'change-pm', categories: ['watch', 'deployment', 'other'], handler });

    const first = await subscribe();
    // Set aside (recorded), and the checkpoint moved past it to the later event.
    await waitFor(async () => (await store.readCheckpoint('change-pm')) !== undefined && (await store.readStream(setAsideStream('change-pm'))).length === 1, { timeoutMs: 10_000 });
    await first.stop();
    await store.close();

    // The host restarts: a new process, the same data folder. The fact arrives afterwards.
    seen.clear();
    await open();
    const second = await subscribe();
    await store.appendToStream('deployment-1', [{ type: 'DeploymentSucceeded', data: { deploymentId: 'd-1' } }]);
    await waitFor(() => reactions.length === 1, { timeoutMs: 10_000 });
    // Let it run a while more: no second reaction, from the ledger or from redelivery.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await second.stop();
    expect(reactions).toHaveLength(1);
    expect((await store.readStream(setAsideStream('change-pm'))).map((e) => e.type)).toEqual(['EventSetAside', 'SetAsideEventResumed']);

    // And a third start has nothing left to take back.
    const third = await subscribe();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await third.stop();
    expect(reactions).toHaveLength(1);
  });

  it('a poison event is dead-lettered in the store; listed, shown and redriven over the bus after a restart, it is handled once', async () => {
    await store.appendToStream('changeRequest-7', [{ type: 'ChangeApproved', data: { id: 'c-7' } }]);
    let poisoned = true;
    const handled: string[] = [];
    const handler = ({ event }: ReceivedEvent) => {
      if (poisoned) throw new PoisonMessageError('approver unknown to this policy');
      handled.push(event.id);
    };
    const subscribe = () => createInProcessEventConsumerFactory({ store, pollIntervalMs: 5 }).consume({ name: 'scheduling-pm', categories: ['changeRequest'], handler });
    const first = await subscribe();
    await waitFor(async () => (await store.readStream(DEAD_LETTER_LEDGER_STREAM)).length === 1, { timeoutMs: 10_000 });
    await first.stop();
    await store.close();

    // After a restart the dead letter is still there, served on the bus as in the distributed form.
    await open();
    poisoned = false;
    const bus = createInProcessCommandBus();
    await registerDeadLetterCommands(bus, createStoreDeadLetterAdmin({ store }));
    const second = await subscribe();
    const { deadLetters } = await bus.send<{ deadLetters: Array<Record<string, unknown>> }>(DEAD_LETTER_CONTEXT, 'list', {});
    expect(deadLetters).toEqual([
      expect.objectContaining({ reason: 'poison', consumer: 'scheduling-pm', originalSubject: 'gatehouse.evt.changeRequest.ChangeApproved', errorName: 'PoisonMessageError', error: 'approver unknown to this policy' }),
    ]);
    const id = Number(deadLetters[0]!['id']);
    const shown = await bus.send<{ payload: { type: string; data: unknown } }>(DEAD_LETTER_CONTEXT, 'get', { id });
    expect(shown.payload).toMatchObject({ type: 'ChangeApproved', data: { id: 'c-7' } });
    expect(handled).toEqual([]);

    const redriven = await bus.send<{ consumer: string }>(DEAD_LETTER_CONTEXT, 'redrive', { id });
    expect(redriven).toMatchObject({ id: String(id), consumer: 'scheduling-pm' });
    await waitFor(() => handled.length === 1, { timeoutMs: 10_000 });
    // Redriven once: a second redrive of the same letter finds nothing, and the list is empty.
    await expect(bus.send(DEAD_LETTER_CONTEXT, 'redrive', { id })).rejects.toThrow(/NotFoundError: dead letter \d+ does not exist/);
    expect((await bus.send<{ deadLetters: unknown[] }>(DEAD_LETTER_CONTEXT, 'list', {})).deadLetters).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.stop();
    expect(handled).toHaveLength(1);
  });
});
