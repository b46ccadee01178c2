/**
 * Follows one change request to the end of its deployment by reading the gateway's read models at a
 * modest interval (the gateway has no push endpoint for it): the change, its booking history and the
 * active deployment's step. Shared by `deploy watch` (a progress bar) and `ci wait` (a pipeline step).
 */
import type { CliIo } from '../io.js';
import type { GatewayClient, Json } from './client.js';

/** Default pause between two reads: a canary step lasts minutes, so one read a second is plenty. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_WAIT_TIMEOUT_S = 3_600;

/** The change was deployed and is being (or was) watched. */
const DEPLOYED_STATUSES = new Set(['validating', 'validated', 'closed']);
/** The change will not deploy (or was undone). */
const ENDED_STATUSES = new Set(['rejected', 'cancelled', 'rolled_back', 'failed', 'validation_failed']);
const REFUSALS = new Set(['SchedulingRefused', 'DeploymentStartRefused']);

export interface Progress {
  status: string;
  environment: string | null;
  version: string | null;
  /** The active deployment, while one runs. */
  deployment: { currentStep: number; totalSteps: number; currentStepName: string | null; trafficPercent: number; strategy: string | null } | null;
  /** The latest booking fact (scheduled for, refused). */
  booking: Json | null;
}

export type FollowOutcome =
  | { kind: 'deployed'; progress: Progress }
  | { kind: 'refused' | 'ended'; progress: Progress; reasons: string[]; nextAllowedAt: string | null }
  | { kind: 'timeout'; progress: Progress | null };

export interface FollowOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Stop with `refused` when the booking is refused (a pipeline), or keep following (a person may reschedule). */
  stopOnRefusal: boolean;
  onProgress: (progress: Progress) => void;
}

function reasonsOf(event: Json): string[] {
  const data = event?.data ?? {};
  if (Array.isArray(data.reasons)) return data.reasons.map((r: unknown) => (typeof r === 'string' ? r : ((r as Json)?.message ?? JSON.stringify(r))));
  return typeof data.reason === 'string' ? [data.reason] : [];
}

export async function followChange(io: CliIo, client: GatewayClient, changeRequestId: string, options: FollowOptions): Promise<FollowOutcome> {
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + options.timeoutMs;
  const route = `/api/change-requests/${encodeURIComponent(changeRequestId)}`;
  let last: Progress | null = null;
  for (;;) {
    const view = await client.call('GET', route);
    const change = view.changeRequest;
    const environment: string | null = change.draft.environments[0] ?? null;
    const booking = (view.schedule ?? []).at(-1) ?? null;
    const active = change.status === 'implementing' ? ((await client.call('GET', '/api/deployments/active')).items as Json[]).find((d) => d.changeRequestId === changeRequestId) : undefined;
    const progress: Progress = {
      status: change.status,
      environment,
      version: change.release?.version ?? null,
      deployment:
        active === undefined
          ? null
          : { currentStep: active.currentStep, totalSteps: active.totalSteps, currentStepName: active.currentStepName, trafficPercent: active.trafficPercent, strategy: active.strategy },
      booking,
    };
    if (last === null || JSON.stringify(last) !== JSON.stringify(progress)) options.onProgress(progress);
    last = progress;

    const releaseDeployment = environment === null ? undefined : change.release?.deployments?.[environment];
    const undone = releaseDeployment !== undefined && (releaseDeployment.status === 'rolled_back' || releaseDeployment.status === 'failed');
    if (DEPLOYED_STATUSES.has(change.status) && !undone) return { kind: 'deployed', progress };
    if (ENDED_STATUSES.has(change.status) || (DEPLOYED_STATUSES.has(change.status) && undone)) {
      const explained = [...view.history].reverse().find((e: Json) => reasonsOf(e).length > 0);
      return { kind: 'ended', progress, reasons: explained === undefined ? [`the change is ${change.status}`] : reasonsOf(explained), nextAllowedAt: null };
    }
    if (options.stopOnRefusal && booking !== null && REFUSALS.has(booking.type)) {
      return { kind: 'refused', progress, reasons: reasonsOf(booking), nextAllowedAt: booking.data?.nextAllowedAt ?? null };
    }
    if (Date.now() >= deadline) return { kind: 'timeout', progress };
    await sleep(options.intervalMs);
  }
}

/** One line a person (or a CI log) reads for a progress report. */
export function progressLine(changeRequestId: string, p: Progress): string {
  if (p.deployment !== null) {
    const d = p.deployment;
    return `${changeRequestId} ${p.environment} ${p.version ?? ''}: step ${d.currentStep}/${d.totalSteps}${d.currentStepName ? ` ${d.currentStepName}` : ''} (${d.trafficPercent}% traffic)`;
  }
  const booking = p.booking === null ? '' : p.booking.data?.scheduledFor && !REFUSALS.has(p.booking.type) ? `, booked for ${p.booking.data.scheduledFor}` : '';
  return `${changeRequestId} ${p.environment}: ${p.status}${booking}`;
}
