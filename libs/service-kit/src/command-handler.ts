import {
  type EventMetadata,
  type EventStore,
  type ExpectedVersion,
  NO_STREAM,
  type StoredEvent,
  WrongExpectedVersionError,
} from '@gatehouse/eventstore';

/** Structural decider: any `{ decide, evolve, initialState }` over `{ type, data }` events. */
export interface CommandDecider<Command, Event extends { type: string; data: unknown }, State> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export interface HandleCommandOptions<Command, Event extends { type: string; data: unknown }, State> {
  store: EventStore;
  decider: CommandDecider<Command, Event, State>;
  streamId: string;
  command: Command;
  /**
   * Deterministic id of this command (process managers derive it from the event that caused it).
   * When the stream already holds events caused by this id, nothing is decided again: redelivery is harmless.
   */
  commandId: string;
  metadata?: Omit<EventMetadata, 'causationId'>;
  /** Concurrent writers to the same stream are resolved by re-reading and deciding again. @defaultValue 3 */
  maxAttempts?: number;
}

export interface CommandResult<Event, State> {
  /** Events this call appended; empty when the command had already been handled or decided nothing. */
  events: StoredEvent[];
  /** The decided events as the decider returned them (also the earlier ones on a duplicate). */
  decided: readonly Event[];
  state: State;
  /** The command id had been handled before. */
  duplicate: boolean;
}

export const DEFAULT_COMMAND_ATTEMPTS = 3;
/** Streams a process remembers per store (least recently used let go first). */
export const KNOWN_STREAMS_CAPACITY = 2_000;

/**
 * Load the stream, fold it, decide, append with the version read: the one way services change state.
 *
 * A stream this process read or wrote last is not read again: it decides on the state it remembers and appends
 * with the version that state was folded to, so the append itself proves the state was current (another writer's
 * event in between fails it, and the command is decided again on a fresh read). A stream it never saw is tried as
 * new the same way (appended with NO_STREAM). Only a decision that appends takes this path: a refusal, a decision
 * of nothing or a redelivered command is always decided again on a fresh read, so no answer rests on a remembered
 * state that the append did not check.
 */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  options: HandleCommandOptions<Command, Event, State>,
): Promise<CommandResult<Event, State>> {
  const { store, decider, streamId, command, commandId, metadata = {}, maxAttempts = DEFAULT_COMMAND_ATTEMPTS } = options;
  const known = knownStreamsOf(store);
  const remembered = known.get<State>(streamId, decider.evolve) ?? { state: decider.initialState(), version: NO_STREAM, causations: new Set<string>() };
  if (!remembered.causations.has(commandId)) {
    const decided = decideQuietly(decider, command, remembered.state);
    if (decided !== undefined && decided.length > 0) {
      try {
        return await append(remembered.state, remembered.version, decided);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        known.forget(streamId);
      }
    }
  }

  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId);
    const state = history.reduce((s, e) => decider.evolve(s, toDomainEvent<Event>(e)), decider.initialState());
    const version: ExpectedVersion = history.at(-1)?.streamVersion ?? NO_STREAM;
    known.remember(streamId, decider.evolve, { state, version, causations: new Set(history.map((e) => e.metadata.causationId).filter((id) => id !== undefined)) });
    const earlier = history.filter((e) => e.metadata.causationId === commandId);
    if (earlier.length > 0) {
      return { events: [], decided: earlier.map((e) => toDomainEvent<Event>(e)), state, duplicate: true };
    }
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { events: [], decided, state, duplicate: false };
    try {
      return await append(state, version, decided);
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= maxAttempts) throw error;
      known.forget(streamId);
    }
  }

  async function append(state: State, expectedVersion: ExpectedVersion, decided: readonly Event[]): Promise<CommandResult<Event, State>> {
    const result = await store.appendToStream(
      streamId,
      decided.map((event) => ({ type: event.type, data: event.data, metadata: { ...metadata, causationId: commandId } })),
      { expectedVersion },
    );
    const next = decided.reduce(decider.evolve, state);
    const causations = known.get<State>(streamId, decider.evolve)?.causations ?? new Set<string>();
    known.remember(streamId, decider.evolve, { state: next, version: result.events.at(-1)?.streamVersion ?? expectedVersion, causations: new Set(causations).add(commandId) });
    return { events: result.events, decided, state: next, duplicate: false };
  }
}

/** What the decider decides on a remembered state; undefined when it refuses (the refusal is checked on a fresh read). */
function decideQuietly<Command, Event extends { type: string; data: unknown }, State>(decider: CommandDecider<Command, Event, State>, command: Command, state: State): readonly Event[] | undefined {
  try {
    return decider.decide(command, state);
  } catch {
    return undefined;
  }
}

interface KnownStream {
  /** The fold its state comes from (a decider per call, with its own rules, still folds with the shared `evolve`). */
  fold: unknown;
  state: unknown;
  version: ExpectedVersion;
  /** The command ids its events were caused by: a command among them is a redelivery. */
  causations: ReadonlySet<string>;
}

/** The streams a process last read or wrote through one store, with the state each decider folded them to. */
class KnownStreams {
  private readonly streams = new Map<string, KnownStream>();

  get<State>(streamId: string, fold: unknown): { state: State; version: ExpectedVersion; causations: ReadonlySet<string> } | undefined {
    const known = this.streams.get(streamId);
    return known?.fold === fold ? (known as { state: State; version: ExpectedVersion; causations: ReadonlySet<string> }) : undefined;
  }

  remember(streamId: string, fold: unknown, known: Omit<KnownStream, 'fold'>): void {
    const current = this.streams.get(streamId);
    // A slower reader must not put back an older state than a writer already remembered.
    if (current !== undefined && current.fold === fold && typeof current.version === 'bigint' && typeof known.version === 'bigint' && current.version > known.version) return;
    this.streams.delete(streamId);
    this.streams.set(streamId, { ...known, fold });
    if (this.streams.size > KNOWN_STREAMS_CAPACITY) this.streams.delete(this.streams.keys().next().value as string);
  }

  forget(streamId: string): void {
    this.streams.delete(streamId);
  }
}

const knownStreams = new WeakMap<EventStore, KnownStreams>();
function knownStreamsOf(store: EventStore): KnownStreams {
  let known = knownStreams.get(store);
  if (known === undefined) knownStreams.set(store, (known = new KnownStreams()));
  return known;
}

function toDomainEvent<Event>(stored: StoredEvent): Event {
  return { type: stored.type, data: stored.data } as Event;
}
