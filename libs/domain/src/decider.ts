/**
 * An aggregate's business logic as a type (Emmett style): `decide` turns a command into events or
 * throws a named `DomainError`; `evolve` folds events into state; `initialState` starts a stream.
 */
export type Decider<Command, Event, State> = {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
};

/** Rebuilds state from a stream's events. */
export function foldEvents<Event, State>(decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>, events: readonly Event[]): State {
  return events.reduce(decider.evolve, decider.initialState());
}

/** Compile-time exhaustiveness check for discriminated-union switches. */
export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}

/** An event as the store takes it: a past-tense `type` and JSON-safe `data` (instants as ISO strings). */
export type DomainEvent<Type extends string, Data extends object> = Readonly<{ type: Type; data: Readonly<Data> }>;

/** A command: an imperative `type` and its data (actor, ids, `now`, the policy fragment it needs). */
export type DomainCommand<Type extends string, Data extends object> = Readonly<{ type: Type; data: Readonly<Data> }>;
