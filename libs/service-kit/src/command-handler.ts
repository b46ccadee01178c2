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

/** Load the stream, fold it, decide, append with the version read: the one way services change state. */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  options: HandleCommandOptions<Command, Event, State>,
): Promise<CommandResult<Event, State>> {
  const { store, decider, streamId, command, commandId, metadata = {}, maxAttempts = DEFAULT_COMMAND_ATTEMPTS } = options;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId);
    const state = history.reduce((s, e) => decider.evolve(s, toDomainEvent<Event>(e)), decider.initialState());
    const earlier = history.filter((e) => e.metadata.causationId === commandId);
    if (earlier.length > 0) {
      return { events: [], decided: earlier.map((e) => toDomainEvent<Event>(e)), state, duplicate: true };
    }
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { events: [], decided, state, duplicate: false };
    const expectedVersion: ExpectedVersion = history.at(-1)?.streamVersion ?? NO_STREAM;
    try {
      const result = await store.appendToStream(
        streamId,
        decided.map((event) => ({ type: event.type, data: event.data, metadata: { ...metadata, causationId: commandId } })),
        { expectedVersion },
      );
      return { events: result.events, decided, state: decided.reduce(decider.evolve, state), duplicate: false };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= maxAttempts) throw error;
    }
  }
}

function toDomainEvent<Event>(stored: StoredEvent): Event {
  return { type: stored.type, data: stored.data } as Event;
}
