import type { Clock, EffectProtocol, EffectShape, OpenIntent } from '@gatehouse/domain';
import type { EventMetadata, EventStore, StoredEvent } from '@gatehouse/eventstore';
import { handleCommand, type CommandDecider, type CommandResult } from './command-handler.js';
import type { ServiceLogger } from './service.js';

/**
 * Performs one kind of effect on the outside world. `isDone` looks at the outside world first, so an
 * effect performed before a crash (or by another replica) is not performed again: applying twice = once.
 */
export interface EffectPort<E extends EffectShape> {
  isDone(effect: E): Promise<boolean>;
  /** Throws {@link PermanentEffectError} when the outside world refuses the effect for good; any other error is transient. */
  perform(effect: E): Promise<void>;
}

/**
 * The outside world refused an effect for good: the same effect would be refused again (a flag that is not
 * bound, a request the other side rejects as invalid). The runner records the intent's failure outcome instead
 * of retrying it. Anything else an effect port throws (network, no responder, timeouts) is transient and retried.
 */
export class PermanentEffectError extends Error {
  override readonly name = 'PermanentEffectError';
  readonly code = 'PERMANENT_EFFECT_FAILURE' as const;
  constructor(
    /** What was refused and why, as the failure outcome records it. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/**
 * How long an intent's last claim protects it from being resumed by anyone else, in ms of wall-clock time
 * (the store's `recordedAt`): the performer may still be working on it. After that, any replica may claim
 * another attempt.
 */
export const DEFAULT_EFFECT_LEASE_MS = 30_000;

export interface EffectRunnerOptions<Command, Event extends { type: string; data: unknown }, State, E extends EffectShape> {
  store: EventStore;
  decider: CommandDecider<Command, Event, State>;
  /** The decider's intents and outcome commands (domain, pure). */
  protocol: EffectProtocol<Command, State, E>;
  port: EffectPort<E>;
  clock: Clock;
  /** @defaultValue DEFAULT_EFFECT_LEASE_MS */
  leaseMs?: number;
  /** Actor recorded on outcomes and claims. */
  actor: string;
  logger?: ServiceLogger;
  /** Called after each effect: `performed` is false when the outside world already was as asked. */
  onSettled?(effect: E, performed: boolean): void;
  /** Called after an effect was refused for good and its failure outcome recorded. */
  onFailed?(effect: E, reason: string): void;
}

export interface EffectRunner<Command, Event, State> {
  /**
   * Decides `command` on `streamId` (load → decide → append with the expected version). For every intent
   * this call recorded, performs the effect and records its outcome before returning. A duplicate or a
   * command another replica won records nothing, so this replica performs nothing. An effect that fails
   * (the outside world unreachable) leaves its intent open, to be resumed after its lease: the command's
   * decision stands, and the returned state shows the intent still open. An effect refused for good
   * ({@link PermanentEffectError}) gets its failure outcome recorded instead; intents that outcome records (a
   * compensation) are performed too.
   */
  decide(streamId: string, command: Command, commandId: string, metadata?: Omit<EventMetadata, 'causationId'>): Promise<CommandResult<Event, State>>;
  /**
   * Resumes the stream's intents left without outcome once their lease ran out: claims another attempt
   * (appended with the expected version: one replica wins), performs, records the outcome (or, refused for good, the
   * failure outcome, so it is not resumed again). A transient failure is thrown and the intent resumed after its
   * next lease. Returns the events it appended.
   */
  resume(streamId: string): Promise<StoredEvent[]>;
}

/** The effect runner: intent recorded before the effect, the effect performed idempotently, the outcome recorded after. */
export function createEffectRunner<Command, Event extends { type: string; data: unknown }, State, E extends EffectShape>(
  options: EffectRunnerOptions<Command, Event, State, E>,
): EffectRunner<Command, Event, State> {
  const { store, decider, protocol, port, clock, leaseMs = DEFAULT_EFFECT_LEASE_MS, actor, logger, onSettled, onFailed } = options;

  const append = (streamId: string, command: Command, commandId: string, metadata: Omit<EventMetadata, 'causationId'>) =>
    handleCommand({ store, decider, streamId, command, commandId, metadata });

  /**
   * Performs an intent this process holds the claim on, then records its outcome; refused for good, records its
   * failure outcome instead. A transient failure is thrown: the intent stays open.
   */
  async function settle(streamId: string, intent: OpenIntent<E>, metadata: Omit<EventMetadata, 'causationId'>): Promise<CommandResult<Event, State>> {
    const { effect } = intent;
    let done: boolean;
    try {
      done = await port.isDone(effect);
      if (!done) await port.perform(effect);
    } catch (error) {
      if (!(error instanceof PermanentEffectError)) throw error;
      logger?.warn({ streamId, effectId: effect.effectId, kind: effect.kind, reason: error.reason }, 'effect refused for good; its failure is recorded and it is not retried');
      const failed = await append(streamId, protocol.recordFailure(intent, error.reason, clock.now()), `${effect.effectId}:failure`, { actor, ...metadata });
      onFailed?.(effect, error.reason);
      return failed;
    }
    onSettled?.(effect, !done);
    logger?.info({ streamId, effectId: effect.effectId, kind: effect.kind, performed: !done }, done ? 'effect already in place; outcome recorded' : 'effect performed; outcome recorded');
    return append(streamId, protocol.recordOutcome(effect, clock.now()), `${effect.effectId}:outcome`, { actor, ...metadata });
  }

  /**
   * Performs the intents `result` recorded, then those their outcomes recorded (a failure's compensation), until
   * none is left. A transient failure leaves its intent open, to be resumed after its lease.
   */
  async function performRecorded(streamId: string, result: CommandResult<Event, State>, metadata: Omit<EventMetadata, 'causationId'>): Promise<CommandResult<Event, State>> {
    let settled = result;
    let recordedNow: readonly StoredEvent[] = result.events;
    // Each effect at most once per call, whatever a decider records.
    const attempted = new Set<string>();
    while (recordedNow.length > 0) {
      const recorded = new Set(recordedNow.map(effectIdOf).filter((id): id is string => id !== undefined));
      recordedNow = [];
      for (const intent of protocol.openIntents(settled.state)) {
        const { effect } = intent;
        if (!recorded.has(effect.effectId) || attempted.has(effect.effectId)) continue;
        attempted.add(effect.effectId);
        try {
          const outcome = await settle(streamId, intent, metadata);
          settled = { ...settled, events: [...settled.events, ...outcome.events], state: outcome.state };
          recordedNow = [...recordedNow, ...outcome.events];
        } catch (error) {
          logger?.warn({ streamId, effectId: effect.effectId, kind: effect.kind, error: String(error) }, 'effect failed; its intent stays open and is resumed after its lease');
        }
      }
    }
    return settled;
  }

  return {
    async decide(streamId, command, commandId, metadata = {}) {
      return performRecorded(streamId, await append(streamId, command, commandId, metadata), metadata);
    },

    async resume(streamId) {
      const history = await store.readStream(streamId);
      const state = history.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as Event), decider.initialState());
      const appended: StoredEvent[] = [];
      for (const intent of protocol.openIntents(state)) {
        if (!leaseExpired(history, intent)) continue;
        const claim = await append(streamId, protocol.claimAttempt(intent, clock.now()), `${intent.effect.effectId}:attempt-${intent.attempt + 1}`, { actor });
        // Another replica claimed it first (or it was completed meanwhile): back off.
        if (claim.events.length === 0) continue;
        logger?.warn({ streamId, effectId: intent.effect.effectId, attempt: intent.attempt + 1 }, 'resuming an intent left without outcome');
        const outcome = await settle(streamId, { ...intent, attempt: intent.attempt + 1 }, {});
        const followed = await performRecorded(streamId, outcome, {});
        appended.push(...claim.events, ...followed.events);
      }
      return appended;
    },
  };

  function leaseExpired(history: readonly StoredEvent[], intent: OpenIntent<E>): boolean {
    const lastClaim = history.findLast((e) => effectIdOf(e) === intent.effect.effectId);
    return lastClaim === undefined || Date.now() - lastClaim.recordedAt.getTime() >= leaseMs;
  }
}

/** Intents, claims and outcomes carry `data.effectId` (see libs/domain `workflows/effects.ts`). */
function effectIdOf(event: StoredEvent): string | undefined {
  const id = (event.data as { effectId?: unknown } | null)?.effectId;
  return typeof id === 'string' ? id : undefined;
}
