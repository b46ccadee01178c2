/**
 * A reaction as pure code (Emmett's `Workflow`): `decide(input, state)` says what to do about one input
 * — commands to send, timers to arm or cancel, or "not yet" — and `evolve(state, event)` folds
 * the events the workflow's own outputs caused into its state. A generic runner (service-kit's
 * `workflow-runner.ts`) loads the state, calls `decide`, and executes the outputs idempotently.
 */
import type { DomainError } from '../errors.js';
import type { WorkflowCancel, WorkflowSchedule } from './timers.js';

export type Workflow<Input, State, Output, Event> = {
  decide: (input: Input, state: State) => readonly Output[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
};

/** The event that caused a reaction: its id makes every command it causes deterministic. */
export interface Cause {
  eventId: string;
}

/**
 * A command on one of the workflow's streams. `commandId` is derived from the causing event and a name that
 * is stable for that reaction, so a redelivered event finds its command already handled (the store records
 * which command caused which events) and nothing happens twice.
 */
export interface WorkflowSend<Target extends string, Command> {
  kind: 'send';
  target: Target;
  streamId: string;
  commandId: string;
  command: Command;
  /** Policy version the command was decided under, recorded on the events it causes. */
  policyVersion?: string;
}

/**
 * The input depends on a fact the workflow has not seen yet (events of different streams can arrive in
 * any order, e.g. a deployment's start before its booking after a redelivery): handle it again later.
 * The runner treats this as transient, never as final.
 */
export interface WorkflowAwait {
  kind: 'await';
  reason: string;
}

/** Nothing to do, and why (recorded in the log: a reaction that did nothing says so). */
export interface WorkflowIgnore {
  kind: 'ignore';
  reason: string;
}

// Effects on the outside world are not workflow outputs: they follow from intent events a command records and
// run through service-kit's effect runner (see effects.ts), so they are never performed before being recorded.
// Timers are (see timers.ts): `schedule` arms one, `cancel` disarms it; the runner records both before anything else.
export type WorkflowOutput<Target extends string, Command> = WorkflowSend<Target, Command> | WorkflowSchedule<Target, Command> | WorkflowCancel | WorkflowAwait | WorkflowIgnore;

/** A workflow whose every decision reads only its input (the facts it needs are gathered into it): no state to fold. */
export function statelessWorkflow<Input, Output>(decide: (input: Input) => readonly Output[]): Workflow<Input, null, Output, never> {
  return { decide: (input) => decide(input), evolve: () => null, initialState: () => null };
}

/** `<causing event id>:<stable name>`: the same event always yields the same command id. */
export function commandIdFor(cause: Cause, name: string): string {
  return `${cause.eventId}:${name}`;
}

/**
 * How a refusal of a workflow's command is classified: `order` when the target has not reached the
 * state the command needs yet (retry later), `final` when retrying cannot change it.
 */
export type RefusalKind = 'order' | 'final';
export type RefusalClassifier = (error: DomainError) => RefusalKind;
