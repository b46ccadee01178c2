/**
 * The timer runner on a real (in-memory) store and the in-process consumers, with a clock the test moves:
 * a timer fires exactly at its instant and not before, once across a restart (also one that crashed between
 * sending and recording), once with two runners on one store, and never once cancelled. The runner's
 * target is a small counter whose every bump is an event, so "sent once" is counted in the store.
 */
import { createInProcessEventConsumerFactory } from '@gatehouse/bus';
import { type Decider, IllegalTransitionError, settableClock, type Workflow, type WorkflowOutput, workflowTimerStreamId } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { handleCommand } from './command-handler.js';
import type { ServiceLogger } from './service.js';
import { armTimer, cancelTimer, startTimerRunner, type TimerRunner, type TimerTarget } from './timer-runner.js';
import { runWorkflow } from './workflow-runner.js';

type BumpCommand = { type: 'Bump'; data: { by: string } };
type BumpEvent = { type: 'Bumped'; data: { by: string } };
const counterDecider: Decider<BumpCommand, BumpEvent, number> = {
  decide: (command) => [{ type: 'Bumped', data: { by: command.data.by } }],
  evolve: (n) => n + 1,
  initialState: () => 0,
};

const T = '2026-12-07T10:00:00.000Z';
const quiet: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('timer runner', () => {
  let store: AuditableEventStore;
  const clock = settableClock('2026-12-07T09:00:00.000Z');
  const runners: Array<Pick<TimerRunner, 'stop'>> = [];
  const events = () => createInProcessEventConsumerFactory({ store, pollIntervalMs: 5 });
  const types = async (streamId: string) => (await store.readStream(streamId)).map((e) => e.type);
  const bumps = async () => (await store.readStream('counter-1')).length;

  /** The counter target: idempotent by the fired command's id, as every service's command handling is. */
  const counter: TimerTarget = async (command, { commandId, correlationId }) => {
    const result = await handleCommand({ store, decider: counterDecider, streamId: 'counter-1', command: command as BumpCommand, commandId, metadata: { correlationId } });
    return result.events.map((e) => e.type);
  };

  async function start(target: TimerTarget = counter, owner = 'svc'): Promise<Pick<TimerRunner, 'stop'>> {
    const runner = await startTimerRunner({ owner, store, events: events(), clock, targets: { counter: target }, intervalMs: 5, logger: quiet, metrics: new Registry() });
    runners.push(runner);
    return runner;
  }

  /** A fact that arms the timer (the cause every arming is recorded against). */
  async function cause(id: string): Promise<StoredEvent> {
    const { events: appended } = await store.appendToStream(`cause-${id}`, [{ type: 'SomethingHappened', data: { id } }]);
    return appended[0] as StoredEvent;
  }

  async function arm(timerId: string, at = T, owner = 'svc'): Promise<void> {
    await armTimer({ store, owner, clock }, { kind: 'schedule', timerId, at: new Date(at), target: 'counter', streamId: 'counter-1', command: { type: 'Bump', data: { by: timerId } } }, await cause(timerId));
  }

  beforeEach(() => {
    store = createInMemoryEventStore();
    clock.set('2026-12-07T09:00:00.000Z');
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  it('fires exactly at its instant, not a millisecond before, and records that it fired', async () => {
    await arm('t-1');
    await start();
    clock.set('2026-12-07T09:59:59.999Z');
    await sleep(150);
    expect(await bumps()).toBe(0);
    expect(await types(workflowTimerStreamId('t-1'))).toEqual(['TimerArmed']);

    clock.set(T);
    await waitFor(async () => (await types(workflowTimerStreamId('t-1'))).includes('TimerFired'), 'the timer to fire');
    expect(await bumps()).toBe(1);
    const fired = (await store.readStream(workflowTimerStreamId('t-1')))[1];
    expect(fired?.data).toMatchObject({ timerId: 't-1', generation: 1, at: T, firedAt: T, outcome: 'sent' });
    // The command carried the deterministic id of the timer's generation.
    expect((await store.readStream('counter-1'))[0]?.metadata.causationId).toBe('t-1:1:fire');
  });

  it('fires a timer armed before the runner started, once, across restarts', async () => {
    await arm('t-1');
    await start();
    clock.set('2026-12-07T11:00:00.000Z');
    await waitFor(async () => (await bumps()) === 1, 'the timer to fire');
    await runners.pop()?.stop();

    // A restart reads the store: the timer fired, so nothing is armed any more.
    await start();
    await sleep(150);
    expect(await bumps()).toBe(1);
    expect(await types(workflowTimerStreamId('t-1'))).toEqual(['TimerArmed', 'TimerFired']);
  });

  it('sends once when the process died between sending the command and recording the firing', async () => {
    await arm('t-1');
    // The first process sends, then dies before it records TimerFired.
    const dying = await start(async (command, fired) => {
      await counter(command, fired);
      throw new Error('process killed');
    });
    clock.set(T);
    await waitFor(async () => (await bumps()) === 1, 'the first send');
    await dying.stop();
    runners.splice(runners.indexOf(dying), 1);
    expect(await types(workflowTimerStreamId('t-1'))).toEqual(['TimerArmed']);

    // The restarted process resumes the armed timer: the same command id finds the command already handled.
    await start();
    await waitFor(async () => (await types(workflowTimerStreamId('t-1'))).includes('TimerFired'), 'the timer to be recorded as fired');
    expect(await bumps()).toBe(1);
  });

  it('fires each timer once with two runners on one store', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `t-${i}`);
    for (const id of ids) await arm(id);
    await start();
    await start();
    clock.set(T);
    await waitFor(async () => {
      const fired = await Promise.all(ids.map(async (id) => (await types(workflowTimerStreamId(id))).includes('TimerFired')));
      return fired.every(Boolean);
    }, 'every timer to fire');
    await sleep(100);
    expect(await bumps()).toBe(ids.length);
    for (const id of ids) expect(await types(workflowTimerStreamId(id))).toEqual(['TimerArmed', 'TimerFired']);
  });

  it('never fires a timer cancelled before its instant', async () => {
    await arm('t-1');
    await start();
    await cancelTimer({ store, owner: 'svc', clock }, { kind: 'cancel', timerId: 't-1', reason: 'the fact arrived in time' }, await cause('done'));
    await sleep(50);
    clock.set('2026-12-08T00:00:00.000Z');
    await sleep(150);
    expect(await bumps()).toBe(0);
    expect(await types(workflowTimerStreamId('t-1'))).toEqual(['TimerArmed', 'TimerCancelled']);
  });

  it("fires only its own service's timers", async () => {
    await arm('theirs', T, 'other-service');
    await start();
    clock.set(T);
    await sleep(150);
    expect(await bumps()).toBe(0);
  });

  it('records a target refusal as the answer and does not retry it', async () => {
    await arm('t-1');
    await start(async () => {
      throw new IllegalTransitionError('counter', 'Bump', 'closed', ['open']);
    });
    clock.set(T);
    await waitFor(async () => (await types(workflowTimerStreamId('t-1'))).includes('TimerFired'), 'the refusal to be recorded');
    expect((await store.readStream(workflowTimerStreamId('t-1')))[1]?.data).toMatchObject({ outcome: 'refused' });
  });

  it('lets a workflow arm timers as outputs, recorded before the commands it sends', async () => {
    type Output = WorkflowOutput<'counter', BumpCommand>;
    const workflow: Workflow<{ id: string }, null, Output, never> = {
      decide: ({ id }) => [
        { kind: 'send', target: 'counter', streamId: 'counter-1', commandId: `${id}:now`, command: { type: 'Bump', data: { by: 'now' } } },
        { kind: 'schedule', timerId: `later-${id}`, at: new Date(T), target: 'counter', streamId: 'counter-1', command: { type: 'Bump', data: { by: 'later' } } },
      ],
      evolve: () => null,
      initialState: () => null,
    };
    const consumer = await runWorkflow({
      name: 'timer-test-workflow',
      events: events(),
      categories: ['cause'],
      dataSchemas: { SomethingHappened: z.object({ id: z.string() }) },
      workflow,
      prepare: async (event) => ({ input: { id: event.data.id }, state: null }),
      send: async (output) => (await handleCommand({ store, decider: counterDecider, streamId: output.streamId, command: output.command, commandId: output.commandId })).events.map((e) => e.type),
      timers: { store, owner: 'svc', clock },
      logger: quiet,
      metrics: new Registry(),
    });
    try {
      await start();
      const happened = await cause('x');
      await waitFor(async () => (await bumps()) === 1, 'the workflow to react');
      const [armed] = await store.readStream(workflowTimerStreamId('later-x'));
      const [sent] = await store.readStream('counter-1');
      expect(armed?.globalPosition).toBeLessThan(sent?.globalPosition ?? 0n);
      expect(armed?.metadata.causationId).toBe(`${happened.id}:arm:later-x`);

      clock.set(T);
      await waitFor(async () => (await bumps()) === 2, 'the armed timer to fire');
      const bumped = await store.readStream('counter-1');
      expect(bumped.map((e) => (e.data as { by: string }).by)).toEqual(['now', 'later']);
      // The fired command stays in the correlation of the fact that armed it.
      expect(bumped[1]?.metadata.correlationId).toBe(happened.id);
    } finally {
      await consumer.stop();
    }
  });
});
