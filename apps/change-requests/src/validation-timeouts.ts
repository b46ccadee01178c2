/**
 * The post-deployment validation's timeout: changes that began validating in an environment whose policy names
 * post-deployment checks are watched on the injectable clock; once `timeoutMinutes` have passed since the
 * deployment succeeded, the change decides (`TimeOutPostDeploymentValidation`): with a check or sign-off still
 * missing it fails (onTimeout fail) or goes on with a warning (warn). One command id per change.
 * The changes validating are followed from the log (replay consumer `change-requests-validation-timeouts`,
 * an `@EventPattern` of reactions.controller.ts); the ticker runs from the module's start to its destruction.
 */
import { ChangeRequestEventSchemas } from '@gatehouse/contracts';
import { CHANGE_LIFECYCLE_ACTOR, changeRequestDecider, DomainError, validationDeadline } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, startTicker, type Ticker } from '@gatehouse/service-kit';
import { changeRequestStream } from './streams.js';

export const VALIDATION_TIMEOUTS_CONSUMER = 'change-requests-validation-timeouts';
/** How often the timeout ticker looks at the clock, in ms. */
export const VALIDATION_TIMEOUT_POLL_INTERVAL_MS = 1_000;

/** The change request events that start and end a validation, and name its environment. */
export const VALIDATION_TIMEOUT_EVENTS = {
  ChangeRequestSubmitted: ChangeRequestEventSchemas.ChangeRequestSubmitted,
  ChangeImplemented: ChangeRequestEventSchemas.ChangeImplemented,
  ChangeValidated: ChangeRequestEventSchemas.ChangeValidated,
  ChangeRolledBack: ChangeRequestEventSchemas.ChangeRolledBack,
  ChangeClosed: ChangeRequestEventSchemas.ChangeClosed,
  PostDeploymentValidationTimedOut: ChangeRequestEventSchemas.PostDeploymentValidationTimedOut,
} as const;

export interface ValidationTimeouts {
  /** Follows one of VALIDATION_TIMEOUT_EVENTS (rebuilt from the log at every start: the timeouts it leads to are idempotent). */
  on(event: StoredEvent): void;
  /** Starts looking at the clock. */
  start(): void;
  stop(): Promise<void>;
}

export function validationTimeouts(ctx: ServiceContext, metrics: CommandMetrics): ValidationTimeouts {
  const { store, clock } = ctx;
  const environments = new Map<string, string>();
  /** Changes validating, with when their deployment succeeded. */
  const validating = new Map<string, string>();

  async function timeOutDue(): Promise<void> {
    const now = clock.now();
    const policySet = ctx.policies.current;
    for (const [changeRequestId, deployedAt] of validating) {
      const environment = environments.get(changeRequestId) ?? '';
      const validation = policySet.environments[environment]?.postDeploymentValidation;
      if (validation === undefined) {
        validating.delete(changeRequestId);
        continue;
      }
      if (Date.parse(validationDeadline(validation, deployedAt)) > now.getTime()) continue;
      const streamId = changeRequestStream(changeRequestId);
      try {
        const result = await handleCommand({
          store,
          decider: changeRequestDecider,
          streamId,
          command: { type: 'TimeOutPostDeploymentValidation', data: { changeRequestId, environment, validation, closedBy: CHANGE_LIFECYCLE_ACTOR, now } },
          commandId: `${streamId}:validation-timeout`,
          metadata: { actor: CHANGE_LIFECYCLE_ACTOR, correlationId: streamId, policyVersion: policySet.policyVersion },
        });
        metrics.eventsAppended(result.events.map((e) => e.type));
      } catch (error) {
        // Nothing missing (only the watch is awaited) or no longer validating: no timeout to record.
        if (!(error instanceof DomainError)) throw error;
      }
      validating.delete(changeRequestId);
    }
  }

  let ticker: Ticker | undefined;
  return {
    on(event) {
      const data = event.data as { changeRequestId: string; draft?: { environments: string[] }; completedAt?: string };
      if (event.type === 'ChangeRequestSubmitted') environments.set(data.changeRequestId, data.draft?.environments[0] ?? '');
      else if (event.type === 'ChangeImplemented' && data.completedAt !== undefined) validating.set(data.changeRequestId, data.completedAt);
      else validating.delete(data.changeRequestId);
    },
    start() {
      ticker ??= startTicker(ctx.tickIntervalMs ?? VALIDATION_TIMEOUT_POLL_INTERVAL_MS, timeOutDue, (error) =>
        ctx.logger.error({ error: String(error) }, 'post-deployment validation timeout check failed; retrying on the next tick'),
      );
    },
    stop: async () => {
      await ticker?.stop();
    },
  };
}
