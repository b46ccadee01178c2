/**
 * The one way a reaction runs: consume events, gather the workflow's input and state, let the pure
 * workflow decide, and execute its outputs. Every command carries the deterministic id the workflow
 * derived from the causing event, so the store's idempotency (`handleCommand`) makes redelivery harmless.
 *
 * Failures are classified, never taken as final by accident:
 * - `await` outputs, and refusals the workflow classifies as caused by delivery order, are transient:
 *   the event is retried with the consumer's back-off (minutes, visible as lag) until the fact arrives,
 *   and dead-lettered with the reason if it has not after `maxAwaitDeliveries`;
 * - anything else that is not a domain refusal (store or bus down, a dependency unavailable) is transient;
 * - a domain refusal the workflow classifies as final is recorded (log + metric) and the event is done;
 * - a message the workflow cannot read at all (`prepare` throws `PoisonMessageError`) is dead-lettered at once.
 *
 * Timers the workflow arms or cancels (`schedule` / `cancel` outputs) are recorded first, before any command
 * is sent: a crash after the commands never leaves a deadline unarmed (see timer-runner.ts).
 */
import { type DataSchemas, type EventConsumer, type EventConsumerFactory, type EventOfSchemas, OutOfOrderError, PoisonMessageError, type ReceivedEvent } from '@gatehouse/bus';
import { DomainError, type RefusalClassifier, type WorkflowOutput, type WorkflowSend } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import type { Registry } from 'prom-client';
import { registeredCounter } from './command-metrics.js';
import type { ServiceLogger } from './service.js';
import { armTimer, cancelTimer, type TimerRecorder } from './timer-runner.js';

/**
 * The workflow has to wait for a fact (or a refusal was caused by delivery order): on JetStream retried with
 * back-off; delivered in commit order (embedded), reported and passed over, since the fact is not on its way.
 */
export class AwaitingFactError extends OutOfOrderError {
  override readonly name = 'AwaitingFactError';
  constructor(
    readonly workflow: string,
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(`${workflow}: event ${eventId} waits: ${reason}`);
  }
}

/** The workflow's input and state for one event, gathered by the service (null: the event is not for this workflow). */
export interface PreparedInput<Input, State> {
  input: Input;
  state: State;
}

export interface WorkflowReactionOptions<S extends DataSchemas, Input, State, Target extends string, Command> {
  /** Durable consumer name (and the `workflow` label of its metrics). */
  name: string;
  /** The events the workflow reacts to, validated by their schemas (data failing its schema is dead-lettered). */
  dataSchemas: S;
  workflow: { decide(input: Input, state: State): readonly WorkflowOutput<Target, Command>[] };
  /** Gathers the facts the decision needs and folds the workflow's state from the store. Throw `PoisonMessageError` for an input no retry can fix. */
  prepare(event: EventOfSchemas<S>): Promise<PreparedInput<Input, State> | null>;
  /** Sends one command (idempotent by its `commandId`); returns the types of the events it appended. Required when the workflow has `send` outputs. */
  send?(output: WorkflowSend<Target, Command>, cause: StoredEvent): Promise<readonly string[]>;
  /** Whether a refusal is caused by delivery order (retry) or final. @defaultValue every refusal is final */
  classifyRefusal?: RefusalClassifier;
  /**
   * Deliveries an event may keep waiting for a fact (`await`, order-caused refusals) before it is dead-lettered
   * as poison with the reason: a fact that has not arrived by then (about 10 to 20 minutes of back-off) is not on its way.
   * @defaultValue DEFAULT_MAX_AWAIT_DELIVERIES (12)
   */
  maxAwaitDeliveries?: number;
  /** Where `schedule` and `cancel` outputs are recorded; required when the workflow has any. */
  timers?: TimerRecorder;
  logger: ServiceLogger;
  metrics: Registry;
}

export interface WorkflowRunnerOptions<S extends DataSchemas, Input, State, Target extends string, Command> extends WorkflowReactionOptions<S, Input, State, Target, Command> {
  events: EventConsumerFactory;
  categories: readonly string[];
}

type Outcome = 'sent' | 'duplicate' | 'refused' | 'awaiting' | 'ignored' | 'gave_up' | 'armed' | 'cancelled';

export const DEFAULT_MAX_AWAIT_DELIVERIES = 12;

/** Starts the durable consumer that runs a workflow. */
export function runWorkflow<S extends DataSchemas, Input, State, Target extends string, Command>({
  events,
  categories,
  ...options
}: WorkflowRunnerOptions<S, Input, State, Target, Command>): Promise<EventConsumer> {
  const { name, dataSchemas } = options;
  return events.consume({ name, categories, eventTypes: Object.keys(dataSchemas), dataSchemas, handler: workflowReaction(options) });
}

/**
 * The handler of the durable consumer that runs a workflow (an `@EventPattern` method hands it the delivery):
 * prepares the input, decides, and executes each output; refusals caused by delivery order and `await`
 * outputs are retried until `maxAwaitDeliveries`, then dead-lettered as poison.
 */
export function workflowReaction<S extends DataSchemas, Input, State, Target extends string, Command>(
  options: WorkflowReactionOptions<S, Input, State, Target, Command>,
): (received: ReceivedEvent) => Promise<void> {
  const { name, workflow, prepare, send, classifyRefusal = () => 'final', maxAwaitDeliveries = DEFAULT_MAX_AWAIT_DELIVERIES, timers, logger, metrics } = options;
  const outputs = registeredCounter(metrics, 'gatehouse_workflow_outputs_total', 'Outputs of reaction workflows by workflow, output kind and outcome', ['workflow', 'kind', 'outcome']);
  const count = (kind: string, outcome: Outcome): void => outputs.inc({ workflow: name, kind, outcome });

  async function execute(output: WorkflowOutput<Target, Command>, cause: StoredEvent): Promise<void> {
    switch (output.kind) {
      case 'send': {
        if (send === undefined) throw new Error(`workflow ${name} sends commands but its runner has no send`);
        try {
          const appended = await send(output, cause);
          count('send', appended.length > 0 ? 'sent' : 'duplicate');
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          const commandType = (output.command as { type?: string }).type;
          if (classifyRefusal(error) === 'order') {
            count('send', 'awaiting');
            throw new AwaitingFactError(name, cause.id, `${commandType ?? 'command'} refused for now (${error.message})`);
          }
          count('send', 'refused');
          // Retrying cannot change this refusal: it is the answer, recorded where an operator looks.
          logger.warn({ err: error.message, code: error.code, eventId: cause.id, eventType: cause.type, command: commandType, streamId: output.streamId, workflow: name }, 'workflow command refused');
        }
        return;
      }
      case 'schedule':
      case 'cancel': {
        if (timers === undefined) throw new Error(`workflow ${name} ${output.kind}s timers but its runner has no timer recorder`);
        const appended = output.kind === 'schedule' ? await armTimer(timers, output, cause) : await cancelTimer(timers, output, cause);
        count(output.kind, appended.length > 0 ? (output.kind === 'schedule' ? 'armed' : 'cancelled') : 'duplicate');
        return;
      }
      case 'await':
        count('await', 'awaiting');
        throw new AwaitingFactError(name, cause.id, output.reason);
      case 'ignore':
        count('ignore', 'ignored');
        logger.debug({ eventId: cause.id, eventType: cause.type, workflow: name, reason: output.reason }, 'workflow: nothing to do');
        return;
    }
  }

  return async ({ event, deliveryCount }) => {
    const prepared = await prepare(event as EventOfSchemas<S>);
    if (prepared === null) return;
    try {
      const outputs = workflow.decide(prepared.input, prepared.state);
      // Timers first: the reaction's deadlines are facts before anything it sends.
      const isTimer = (output: WorkflowOutput<Target, Command>): boolean => output.kind === 'schedule' || output.kind === 'cancel';
      for (const output of [...outputs.filter(isTimer), ...outputs.filter((o) => !isTimer(o))]) await execute(output, event);
    } catch (error) {
      if (!(error instanceof AwaitingFactError) || deliveryCount < maxAwaitDeliveries) throw error;
      count('await', 'gave_up');
      throw new PoisonMessageError(`gave up after ${deliveryCount} deliveries: ${error.message}`, { cause: error });
    }
  };
}
