/**
 * Given / when / then for Emmett-style workflows (reactions as pure code):
 *
 *   const spec = WorkflowSpecification.for(changeLifecycleWorkflow);
 *   spec.given([changeSubmitted, changeApproved]).when(deploymentScheduled).then([{ kind: 'send', ... }]);
 *
 * `given` folds the events the workflow's outputs caused into its state; `when` is one input.
 * Structural on purpose, like `DeciderSpecification`; uses jest's global `expect`.
 */
export interface SpecifiedWorkflow<Input, State, Output, Event> {
  decide: (input: Input, state: State) => readonly Output[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

export interface WorkflowThenClause<Output> {
  /** The workflow decided exactly these outputs, in order. */
  then(expected: readonly Output[]): void;
  /** The workflow decided outputs the assertion accepts (partial checks). */
  thenOutputs(assert: (outputs: readonly Output[]) => void): void;
}

export const WorkflowSpecification = {
  for<Input, State, Output, Event>(workflow: SpecifiedWorkflow<Input, State, Output, Event>) {
    return {
      given(events: readonly Event[]) {
        const state = events.reduce(workflow.evolve, workflow.initialState());
        return {
          when(input: Input): WorkflowThenClause<Output> {
            return {
              then(expected) {
                expect(workflow.decide(input, state)).toEqual(expected);
              },
              thenOutputs(assert) {
                assert(workflow.decide(input, state));
              },
            };
          },
        };
      },
    };
  },
};
