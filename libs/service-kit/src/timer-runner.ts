/**
 * Timers as stored facts (libs/domain `workflows/timers.ts`): the workflow runner arms and cancels them
 * (`armTimer` / `cancelTimer`, recorded on `workflowTimer-<timerId>` before anything else the reaction does), and
 * one timer runner per service fires the ones it owns.
 *
 * The runner keeps the armed, not yet fired timers it owns, folded from the store's `workflowTimer` streams at every
 * start (a replay consumer, `<owner>-timers`, feeding `onTimerEvent`: a restart or another replica resumes them), and looks at the injectable clock
 * every `intervalMs`: a timer whose `at` has come is fired by sending its command with the deterministic
 * id `<timerId>:<generation>:fire`, then `TimerFired` is recorded. Two runners on one store, or a crash
 * between sending and recording, send the command once (the target's store finds the id already handled);
 * a timer cancelled before its instant is never sent.
 */
import type { EventConsumer, EventConsumerFactory } from '@gatehouse/bus';
import {
  type ArmedTimer,
  type Clock,
  DomainError,
  WORKFLOW_TIMER_CATEGORY,
  WORKFLOW_TIMER_EVENT_TYPES,
  workflowTimerDecider,
  type WorkflowTimerEvent,
  type TimerFiredOutcome,
  timerFireCommandId,
  workflowTimerStreamId,
  type WorkflowCancel,
  type WorkflowSchedule,
} from '@gatehouse/domain';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import type { Registry } from 'prom-client';
import { handleCommand } from './command-handler.js';
import { registeredCounter } from './command-metrics.js';
import type { ServiceLogger } from './service.js';
import { startTicker, type Ticker } from './ticker.js';

/** How often a timer runner looks at the clock, in ms, unless the service says otherwise. */
export const DEFAULT_TIMER_INTERVAL_MS = 1_000;

/** Where a timer records its arming: the store, and the service whose timer runner will fire it. */
export interface TimerRecorder {
  store: EventStore;
  owner: string;
  clock: Clock;
}

/** Records a `schedule` output: `TimerArmed` once per causing event (command id `<cause id>:arm:<timerId>`). Returns the types appended. */
export async function armTimer(recorder: TimerRecorder, output: WorkflowSchedule<string, unknown>, cause: StoredEvent): Promise<readonly string[]> {
  const { store, owner, clock } = recorder;
  const { timerId, at, target, streamId, command } = output;
  const result = await handleCommand({
    store,
    decider: workflowTimerDecider,
    streamId: workflowTimerStreamId(timerId),
    command: { type: 'ArmTimer', data: { timerId, owner, at, target, streamId, command, now: clock.now() } },
    commandId: `${cause.id}:arm:${timerId}`,
    metadata: { actor: owner, correlationId: correlationOf(cause) },
  });
  return result.events.map((e) => e.type);
}

/** Records a `cancel` output (nothing when the timer is not armed). Returns the types appended. */
export async function cancelTimer(recorder: TimerRecorder, output: WorkflowCancel, cause: StoredEvent): Promise<readonly string[]> {
  const { store, owner, clock } = recorder;
  const result = await handleCommand({
    store,
    decider: workflowTimerDecider,
    streamId: workflowTimerStreamId(output.timerId),
    command: { type: 'CancelTimer', data: { timerId: output.timerId, reason: output.reason, now: clock.now() } },
    commandId: `${cause.id}:cancel:${output.timerId}`,
    metadata: { actor: owner, correlationId: correlationOf(cause) },
  });
  return result.events.map((e) => e.type);
}

/**
 * Sends a fired timer's command (`command` as armed, JSON: instants are ISO strings) with `commandId`, at
 * `firedAt` (the clock when it fired: the command's `now`). Returns the types of the events it appended;
 * throws a `DomainError` when the target refuses it for good.
 */
export type TimerTarget = (command: unknown, fired: FiredTimer) => Promise<readonly string[]>;

/** A timer being fired: the id its command carries, the timer, when it fired, and the correlation of the fact that armed it. */
export interface FiredTimer {
  commandId: string;
  timer: ArmedTimer;
  firedAt: Date;
  correlationId: string;
}

export interface TimerRunnerOptions {
  /** The service: only timers armed with this owner are fired here. */
  owner: string;
  store: EventStore;
  clock: Clock;
  /** The targets the owner's workflows schedule commands to. */
  targets: Readonly<Record<string, TimerTarget>>;
  /** @defaultValue DEFAULT_TIMER_INTERVAL_MS */
  intervalMs?: number;
  logger: ServiceLogger;
  metrics: Registry;
}

export interface TimerRunner {
  /** Follows one `workflowTimer` event (delivered by the owner's replay consumer, {@link timerIndexConsumer}). */
  onTimerEvent(event: StoredEvent): void;
  /** Starts looking at the clock. */
  start(): void;
  stop(): Promise<void>;
}

/** The replay consumer that feeds a timer runner's index (name, the timer streams' category and event types). */
export function timerIndexConsumer(owner: string): { name: string; replay: true; categories: readonly string[]; eventTypes: readonly string[] } {
  return { name: `${owner}-timers`, replay: true, categories: [WORKFLOW_TIMER_CATEGORY], eventTypes: [...WORKFLOW_TIMER_EVENT_TYPES] };
}

/** Starts a timer runner with its replay consumer on `events` (a service declared the Nest way feeds and starts one from its module instead). */
export async function startTimerRunner(options: TimerRunnerOptions & { events: EventConsumerFactory }): Promise<Pick<TimerRunner, 'stop'>> {
  const { events, ...runnerOptions } = options;
  const runner = createTimerRunner(runnerOptions);
  const index: EventConsumer = await events.consume({ ...timerIndexConsumer(options.owner), handler: async ({ event }) => runner.onTimerEvent(event) });
  runner.start();
  return {
    async stop() {
      await runner.stop();
      await index.stop();
    },
  };
}

/** A service's timer runner: its index is fed by `onTimerEvent`; it fires due timers from `start` to `stop`. */
export function createTimerRunner(options: TimerRunnerOptions): TimerRunner {
  const { owner, store, clock, targets, intervalMs = DEFAULT_TIMER_INTERVAL_MS, logger, metrics } = options;
  const fired = registeredCounter(metrics, 'gatehouse_timers_fired_total', 'Timers fired by owning service, target and outcome', ['owner', 'target', 'outcome']);
  const armed = new Map<string, ArmedTimer & { correlationId: string }>();

  function onTimerEvent(event: StoredEvent): void {
    const timer = { type: event.type, data: event.data } as WorkflowTimerEvent;
    if (timer.type === 'TimerArmed') {
      if (timer.data.owner === owner) armed.set(timer.data.timerId, { ...timer.data, correlationId: correlationOf(event) });
      return;
    }
    if (armed.get(timer.data.timerId)?.generation === timer.data.generation) armed.delete(timer.data.timerId);
  }

  async function fire(timer: ArmedTimer & { correlationId: string }, firedAt: Date): Promise<void> {
    // Cancelled (or fired by another replica) since the index saw it armed: nothing to send.
    const history = await store.readStream(workflowTimerStreamId(timer.timerId));
    const state = history.reduce((s, e) => workflowTimerDecider.evolve(s, { type: e.type, data: e.data } as WorkflowTimerEvent), workflowTimerDecider.initialState());
    if (state.status !== 'armed' || state.generation !== timer.generation) {
      if (armed.get(timer.timerId)?.generation === timer.generation) armed.delete(timer.timerId);
      return;
    }
    let outcome: TimerFiredOutcome = 'sent';
    const target = targets[timer.target];
    if (target === undefined) {
      outcome = 'refused';
      logger.error({ timerId: timer.timerId, target: timer.target, owner }, 'timer names a target its owner does not serve; recorded as refused');
    } else {
      try {
        const { correlationId, ...armedTimer } = timer;
        await target(timer.command, { commandId: timerFireCommandId(timer), timer: armedTimer, firedAt, correlationId });
      } catch (error) {
        // Anything but a refusal (store or bus down) is transient: the timer stays armed and fires on a later tick.
        if (!(error instanceof DomainError)) throw error;
        outcome = 'refused';
        logger.warn({ timerId: timer.timerId, target: timer.target, code: error.code, err: error.message }, 'timer command refused');
      }
    }
    await handleCommand({
      store,
      decider: workflowTimerDecider,
      streamId: workflowTimerStreamId(timer.timerId),
      command: { type: 'RecordTimerFired', data: { timerId: timer.timerId, generation: timer.generation, outcome, now: firedAt } },
      commandId: `${timer.timerId}:${timer.generation}:fired`,
      metadata: { actor: owner, correlationId: timer.correlationId },
    });
    fired.inc({ owner, target: timer.target, outcome });
    if (armed.get(timer.timerId)?.generation === timer.generation) armed.delete(timer.timerId);
  }

  async function fireDue(): Promise<void> {
    const now = clock.now();
    const due = [...armed.values()].filter((t) => Date.parse(t.at) <= now.getTime()).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    for (const timer of due) {
      try {
        await fire(timer, now);
      } catch (error) {
        // One timer's failure does not hold the others up.
        logger.error({ timerId: timer.timerId, target: timer.target, error: String(error) }, 'timer could not fire; retrying on the next tick');
      }
    }
  }

  let ticker: Ticker | undefined;
  return {
    onTimerEvent,
    start() {
      ticker ??= startTicker(intervalMs, fireDue, (error) => logger.error({ owner, error: String(error) }, 'timer loop failed'));
    },
    async stop() {
      await ticker?.stop();
    },
  };
}

function correlationOf(cause: StoredEvent): string {
  return typeof cause.metadata.correlationId === 'string' ? cause.metadata.correlationId : cause.id;
}
