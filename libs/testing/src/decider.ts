/**
 * Given / when / then specifications for Emmett-style deciders:
 *
 *   const spec = DeciderSpecification.for(releaseDecider);
 *   spec.given([releasePlanned]).when(approveRelease).then([releaseApproved]);
 *   spec.given([]).when(planRelease).thenThrows(InvalidVersionError, (e) => e.version === 'v1');
 *
 * Structural on purpose: any `{ decide, evolve, initialState }` works, so this lib depends on no domain.
 * Uses jest's global `expect` for readable diffs; call it from jest tests only.
 */
export interface SpecifiedDecider<Command, Event, State> {
  decide: (command: Command, state: State) => readonly Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorConstructor<E extends Error> = abstract new (...args: any[]) => E;

export interface ThenClause<Event, State> {
  /** The command produced exactly these events, in order. */
  then(expected: readonly Event[]): void;
  /** The command produced events the assertion accepts (for generated ids or partial checks). */
  thenEvents(assert: (events: readonly Event[], stateAfter: State) => void): void;
  /** The command was accepted and produced no event (idempotent / nothing due). */
  thenNothingHappened(): void;
  /** The command was refused with this error type, optionally matching the predicate. */
  thenThrows<E extends Error>(errorType: ErrorConstructor<E>, predicate?: (error: E) => boolean): E;
}

export interface WhenClause<Command, Event, State> {
  when(command: Command): ThenClause<Event, State>;
}

export const DeciderSpecification = {
  for<Command, Event, State>(decider: SpecifiedDecider<Command, Event, State>) {
    return {
      given(events: readonly Event[]): WhenClause<Command, Event, State> {
        return {
          when(command: Command): ThenClause<Event, State> {
            const state = events.reduce(decider.evolve, decider.initialState());
            const run = (): readonly Event[] => decider.decide(command, state);
            const accepted = (): readonly Event[] => {
              try {
                return run();
              } catch (error) {
                throw new Error(`expected the command to be accepted, but it threw ${describe(error)}`, { cause: error });
              }
            };
            return {
              then(expected) {
                expect(accepted()).toEqual(expected);
              },
              thenEvents(assert) {
                const produced = accepted();
                assert(produced, produced.reduce(decider.evolve, state));
              },
              thenNothingHappened() {
                expect(accepted()).toEqual([]);
              },
              thenThrows(errorType, predicate) {
                let produced: readonly Event[];
                try {
                  produced = run();
                } catch (error) {
                  if (!(error instanceof errorType)) {
                    throw new Error(`expected ${errorType.name} but got ${describe(error)}`, { cause: error });
                  }
                  if (predicate && !predicate(error)) {
                    throw new Error(`${errorType.name} was thrown but did not match the predicate: ${describe(error)}`, { cause: error });
                  }
                  return error;
                }
                throw new Error(`expected ${errorType.name} but the command was accepted with ${JSON.stringify(produced)}`);
              },
            };
          },
        };
      },
    };
  },
};

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
