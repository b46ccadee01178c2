import { z } from 'zod';
import { createFakeEventStore } from '../test-support/fake-store.js';
import { waitFor } from '../test-support/events.js';
import { OutOfOrderError, PoisonMessageError, type ReceivedEvent } from './consumer.js';
import { createInProcessEventConsumerFactory } from './factory.js';

describe('in-process event consumers (embedded mode)', () => {
  it('delivers store events in commit order with the same envelope as JetStream, filtered by category and type', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'a' } }]);
    await store.appendToStream('release-1', [{ type: 'ReleaseBuilt', data: {} }]);
    await store.appendToStream('changeRequest-2', [{ type: 'ChangeRequested', data: { title: 'b' } }, { type: 'ChangeApproved', data: {} }]);
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, source: 'gatehouse/test' });
    const received: ReceivedEvent[] = [];
    const consumer = await factory.consume({ name: 'pm', categories: ['changeRequest'], eventTypes: ['ChangeRequested'], handler: (r) => void received.push(r) });
    await waitFor(() => received.length === 2);
    await store.appendToStream('changeRequest-3', [{ type: 'ChangeRequested', data: { title: 'c' } }]);
    await waitFor(() => received.length === 3);
    await consumer.stop();
    expect(received.map((r) => (r.event.data as { title: string }).title)).toEqual(['a', 'b', 'c']);
    expect(received[0]).toMatchObject({ subject: 'gatehouse.evt.changeRequest.ChangeRequested', deliveryCount: 1, envelope: { source: 'gatehouse/test', type: 'ChangeRequested' } });
  });

  it('never skips an event: a transient failure is retried with back-off until it succeeds, later events wait', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'flaky' } }, { type: 'ChangeRequested', data: { title: 'next' } }]);
    const deadLetters: unknown[] = [];
    const delays: number[] = [];
    const factory = createInProcessEventConsumerFactory({
      store,
      pollIntervalMs: 5,
      retryDelayMs: (attempt) => attempt * 5,
      hooks: { onDeadLetter: (d) => deadLetters.push(d), onRetry: (r) => delays.push(r.delayMs) },
    });
    const attempts: string[] = [];
    const consumer = await factory.consume({
      name: 'pm',
      dataSchemas: { ChangeRequested: z.object({ title: z.string() }) },
      handler: ({ event, deliveryCount }) => {
        attempts.push(`${event.data.title}#${deliveryCount}`);
        // Far more failures than the old limit of 5 attempts: the dependency is down for a while.
        if (event.data.title === 'flaky' && deliveryCount < 8) throw new Error('approvals unavailable');
      },
    });
    await waitFor(() => attempts.includes('next#1'));
    await consumer.stop();
    expect(attempts).toEqual([...Array.from({ length: 8 }, (_, i) => `flaky#${i + 1}`), 'next#1']);
    expect(delays).toEqual([5, 10, 15, 20, 25, 30, 35]);
    expect(deadLetters).toEqual([]);
    expect(await store.readCheckpoint('pm')).toBe(2n);
  });

  it('a stop during the back-off leaves the checkpoint before the event, so the next start handles it', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'a' } }, { type: 'ChangeRequested', data: { title: 'b' } }]);
    let failing = true;
    const handled: string[] = [];
    const handler = ({ event }: ReceivedEvent) => {
      const title = (event.data as { title: string }).title;
      if (title === 'b' && failing) throw new Error('down');
      handled.push(title);
    };
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, retryDelayMs: () => 60_000 });
    const first = await factory.consume({ name: 'pm', handler });
    await waitFor(() => handled.includes('a'));
    await first.stop();
    await first.done;
    expect(await store.readCheckpoint('pm')).toBe(1n);
    failing = false;
    const second = await factory.consume({ name: 'pm', handler });
    await waitFor(() => handled.includes('b'));
    await second.stop();
    expect(handled).toEqual(['a', 'b']);
  });

  it('passes over a poison event at once (PoisonMessageError), reporting it, and keeps flowing', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'forged' } }, { type: 'ChangeRequested', data: { title: 'fine' } }]);
    const deadLetters: { reason: string; deliveryCount: number }[] = [];
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, hooks: { onDeadLetter: (d) => deadLetters.push(d) } });
    const attempts: string[] = [];
    const consumer = await factory.consume({
      name: 'pm',
      dataSchemas: { ChangeRequested: z.object({ title: z.string() }) },
      handler: ({ event, deliveryCount }) => {
        attempts.push(`${event.data.title}#${deliveryCount}`);
        if (event.data.title === 'forged') throw new PoisonMessageError('names a change that belongs to another tenant');
      },
    });
    await waitFor(() => attempts.includes('fine#1'));
    await consumer.stop();
    expect(attempts).toEqual(['forged#1', 'fine#1']);
    expect(deadLetters).toEqual([expect.objectContaining({ reason: 'poison', deliveryCount: 1 })]);
  });

  it('sets aside an event that waits for a fact committed after it (OutOfOrderError): later events flow, then it is handled', async () => {
    const store = createFakeEventStore();
    // Monitoring's watch ended before deployments' success was committed: two producers, either order.
    await store.appendToStream('watch-1', [{ type: 'WatchCompleted', data: {} }]);
    await store.appendToStream('deployment-1', [{ type: 'DeploymentSucceeded', data: {} }]);
    const deadLetters: unknown[] = [];
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, retryDelayMs: () => 60_000, hooks: { onDeadLetter: (d) => deadLetters.push(d) } });
    const handled: string[] = [];
    const consumer = await factory.consume({
      name: 'pm',
      handler: ({ event, deliveryCount }) => {
        if (event.type === 'WatchCompleted' && !handled.includes('DeploymentSucceeded#1')) throw new OutOfOrderError('the deployment has not succeeded yet');
        handled.push(`${event.type}#${deliveryCount}`);
      },
    });
    await waitFor(() => handled.length === 2);
    await consumer.stop();
    // Tried again as soon as the next fact was handled, not after the (long) back-off.
    expect(handled).toEqual(['DeploymentSucceeded#1', 'WatchCompleted#1']);
    expect(deadLetters).toEqual([]);
  });

  it('reports an event whose fact never comes as out_of_order after maxDeliver attempts', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('deployment-1', [{ type: 'DeploymentStarted', data: {} }]);
    const deadLetters: { reason: string; deliveryCount: number }[] = [];
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, maxDeliver: 3, retryDelayMs: () => 10, hooks: { onDeadLetter: (d) => deadLetters.push(d) } });
    const consumer = await factory.consume({
      name: 'pm',
      handler: () => {
        throw new OutOfOrderError('the change was never booked');
      },
    });
    await waitFor(() => deadLetters.length === 1, { timeoutMs: 5_000 });
    await consumer.stop();
    expect(deadLetters).toEqual([expect.objectContaining({ reason: 'out_of_order', deliveryCount: 3 })]);
  });

  it('dead-letters data that fails its schema without calling the handler', async () => {
    const store = createFakeEventStore();
    await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 7 } }]);
    const reasons: string[] = [];
    const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, hooks: { onDeadLetter: (d) => reasons.push(d.reason) } });
    let handled = 0;
    const handler = () => void (handled += 1);
    const consumer = await factory.consume({ name: 'pm', dataSchemas: { ChangeRequested: z.object({ title: z.string() }) }, handler });
    await waitFor(() => reasons.length === 1);
    await consumer.stop();
    expect(reasons).toEqual(['invalid_data']);
    expect(handled).toBe(0);
  });
  describe('replay: true (no durable state)', () => {
    it('delivers every matching event from position 0, then live ones, and stores no checkpoint', async () => {
      const store = createFakeEventStore();
      await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'a' } }]);
      await store.appendToStream('release-1', [{ type: 'ReleaseBuilt', data: {} }]);
      await store.appendToStream('changeRequest-2', [{ type: 'ChangeRequested', data: { title: 'b' } }, { type: 'ChangeApproved', data: {} }]);
      // A durable checkpoint under the same name exists: replay ignores it.
      await store.storeCheckpoint('planner', 99n);
      const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5 });
      const received: ReceivedEvent[] = [];
      const consumer = await factory.consume({ name: 'planner', replay: true, categories: ['changeRequest'], eventTypes: ['ChangeRequested'], handler: (r) => void received.push(r) });
      await waitFor(() => received.length === 2, { what: 'the replayed events' });
      await store.appendToStream('changeRequest-3', [{ type: 'ChangeRequested', data: { title: 'c' } }]);
      await waitFor(() => received.length === 3, { what: 'the live event' });
      await consumer.stop();
      expect(received.map((r) => (r.event.data as { title: string }).title)).toEqual(['a', 'b', 'c']);
      expect(received[0]).toMatchObject({ subject: 'gatehouse.evt.changeRequest.ChangeRequested', deliveryCount: 1 });
      expect([...store.checkpoints.entries()]).toEqual([['planner', 99n]]);
    });

    it('replays everything again on the next start, and stop() ends delivery', async () => {
      const store = createFakeEventStore();
      await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'a' } }, { type: 'ChangeRequested', data: { title: 'b' } }]);
      const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5 });
      const first: string[] = [];
      const one = await factory.consume({ name: 'rebuild', replay: true, handler: ({ event }) => void first.push(event.id) });
      await waitFor(() => first.length === 2);
      await one.stop();
      await store.appendToStream('changeRequest-2', [{ type: 'ChangeRequested', data: { title: 'c' } }]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(first).toHaveLength(2);

      const second: string[] = [];
      const two = await factory.consume({ name: 'rebuild', replay: true, handler: ({ event }) => void second.push(event.id) });
      await waitFor(() => second.length === 3);
      await two.stop();
      expect(second.slice(0, 2)).toEqual(first);
      expect(store.checkpoints.size).toBe(0);
    });

    it('retries a failing handler in place, reports it, skips it and keeps flowing', async () => {
      const store = createFakeEventStore();
      await store.appendToStream('changeRequest-1', [{ type: 'ChangeRequested', data: { title: 'poison' } }, { type: 'ChangeRequested', data: { title: 7 } }, { type: 'ChangeRequested', data: { title: 'fine' } }]);
      const deadLetters: { reason: string; deliveryCount: number }[] = [];
      const factory = createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, maxDeliver: 2, hooks: { onDeadLetter: (d) => deadLetters.push(d) } });
      const attempts: string[] = [];
      const consumer = await factory.consume({
        name: 'pm',
        replay: true,
        dataSchemas: { ChangeRequested: z.object({ title: z.string() }) },
        handler: ({ event, deliveryCount }) => {
          attempts.push(`${event.data.title}#${deliveryCount}`);
          if (event.data.title === 'poison') throw new Error('boom');
        },
      });
      await waitFor(() => attempts.includes('fine#1'));
      await consumer.stop();
      expect(attempts).toEqual(['poison#1', 'poison#2', 'fine#1']);
      expect(deadLetters).toEqual([expect.objectContaining({ reason: 'handler_failed', deliveryCount: 2 }), expect.objectContaining({ reason: 'invalid_data', deliveryCount: 1 })]);
      expect(store.checkpoints.size).toBe(0);
    });
  });
});
