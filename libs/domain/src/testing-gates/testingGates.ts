import type { TestingGate } from '@gatehouse/policy';
import { iso, isIsoInstant, MS_PER_MINUTE, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { DomainError, requireReason, ValidationError } from '../errors.js';

/**
 * Testing gates (seeds: unit, integration, E2E, performance, security) evaluated against a release's
 * results for one environment. `block` failures stop the deployment; `warn` failures stop it until a
 * person overrides with a recorded reason; `ignore` failures are informational. A gate still running
 * past its timeout counts as failed (timed out); a required gate without a result blocks ("not run").
 */
export const GATE_RESULT_STATUSES = ['passed', 'failed', 'timed_out', 'running'] as const;
export type GateResultStatus = (typeof GATE_RESULT_STATUSES)[number];

export interface GateResult {
  gateId: string;
  status: GateResultStatus;
  startedAt: string;
  finishedAt?: string;
}

export interface GateOverride {
  gateId: string;
  actor: string;
  reason: string;
  at: string;
}

/** What a gate's outcome means for the deployment. */
export type GateEffect = 'ok' | 'blocks' | 'needs_override' | 'overridden' | 'pending' | 'info';
export type GateOutcome = 'passed' | 'failed' | 'timed_out' | 'running' | 'not_run';

export interface GateReason {
  gateId: string;
  gateName: string;
  outcome: GateOutcome;
  effect: GateEffect;
  message: string;
  override?: GateOverride;
}

export interface GateVerdict {
  /** The deployment may proceed as far as testing gates go. */
  allowed: boolean;
  /** Every gate of the environment, with what it means. */
  reasons: GateReason[];
}

/** Effects that stop a deployment. */
const STOPPING: readonly GateEffect[] = ['blocks', 'needs_override', 'pending'];

export function evaluateTestingGates(input: { gates: readonly TestingGate[]; results: readonly GateResult[]; overrides?: readonly GateOverride[]; now: Date }): GateVerdict {
  const { gates, results, overrides = [], now } = input;
  const reasons = gates.map((gate) => {
    const latest = latestResult(results, gate.id);
    const outcome = outcomeOf(gate, latest, now);
    return reasonFor(gate, outcome, overrides.find((o) => o.gateId === gate.id));
  });
  return { allowed: reasons.every((r) => !STOPPING.includes(r.effect)), reasons };
}

function latestResult(results: readonly GateResult[], gateId: string): GateResult | undefined {
  return results.filter((r) => r.gateId === gateId).reduce<GateResult | undefined>((latest, r) => (latest === undefined || toMs(r.startedAt) >= toMs(latest.startedAt) ? r : latest), undefined);
}

function outcomeOf(gate: TestingGate, result: GateResult | undefined, now: Date): GateOutcome {
  if (result === undefined) return 'not_run';
  if (result.status !== 'running') return result.status;
  const runningMs = toMs(now) - toMs(result.startedAt);
  return runningMs > gate.timeoutMinutes * MS_PER_MINUTE ? 'timed_out' : 'running';
}

function reasonFor(gate: TestingGate, outcome: GateOutcome, override: GateOverride | undefined): GateReason {
  const base = { gateId: gate.id, gateName: gate.name, outcome };
  switch (outcome) {
    case 'passed':
      return { ...base, effect: 'ok', message: `${gate.name} passed` };
    case 'running':
      return { ...base, effect: gate.required ? 'pending' : 'info', message: `${gate.name} is still running (timeout ${gate.timeoutMinutes} min)` };
    case 'not_run':
      return gate.required
        ? { ...base, effect: 'blocks', message: `${gate.name} is required but has not run` }
        : { ...base, effect: 'info', message: `${gate.name} (optional) has not run` };
    case 'failed':
    case 'timed_out': {
      const what = outcome === 'timed_out' ? `timed out after ${gate.timeoutMinutes} min (counts as failed)` : 'failed';
      switch (gate.onFailure) {
        case 'block':
          return { ...base, effect: 'blocks', message: `${gate.name} ${what}; this gate blocks deployment` };
        case 'warn':
          return override
            ? { ...base, effect: 'overridden', message: `${gate.name} ${what}; overridden by ${override.actor}: ${override.reason}`, override }
            : { ...base, effect: 'needs_override', message: `${gate.name} ${what}; deploy only after an override with a recorded reason` };
        case 'ignore':
          return { ...base, effect: 'info', message: `${gate.name} ${what}; ignored by policy` };
        default:
          return assertNever(gate.onFailure);
      }
    }
    default:
      return assertNever(outcome);
  }
}

// ---------------------------------------------------------------- gate record decider (one per release × environment)

export type RecordGateResult = DomainCommand<'RecordGateResult', { releaseId: string; environment: string; gates: readonly TestingGate[]; result: GateResult }>;
export type OverrideWarnGate = DomainCommand<
  'OverrideWarnGate',
  { releaseId: string; environment: string; gates: readonly TestingGate[]; gateId: string; actor: string; reason: string; now: Date }
>;
export type GateCommand = RecordGateResult | OverrideWarnGate;

export type GateResultRecorded = DomainEvent<'GateResultRecorded', { releaseId: string; environment: string; result: GateResult }>;
export type WarnGateOverridden = DomainEvent<'WarnGateOverridden', { releaseId: string; environment: string; override: GateOverride }>;
export type GateEvent = GateResultRecorded | WarnGateOverridden;

export interface GateRecordState {
  results: GateResult[];
  overrides: GateOverride[];
}

export class GateNotOverridableError extends DomainError {
  override readonly name = 'GateNotOverridableError';
  readonly code = 'GATE_NOT_OVERRIDABLE' as const;
  constructor(
    readonly gateId: string,
    readonly onFailure: TestingGate['onFailure'] | 'unknown',
  ) {
    super(
      onFailure === 'unknown'
        ? `no testing gate "${gateId}" in this environment`
        : `gate "${gateId}" is "${onFailure}": only warn gates can be overridden${onFailure === 'block' ? '; fix the failure and re-run it' : ''}`,
    );
  }
}

export class UnknownGateError extends DomainError {
  override readonly name = 'UnknownGateError';
  readonly code = 'UNKNOWN_GATE' as const;
  constructor(
    readonly gateId: string,
    readonly known: readonly string[],
  ) {
    super(`no testing gate "${gateId}" in this environment; gates: ${known.join(', ')}`);
  }
}

export function decideGate(command: GateCommand, _state: GateRecordState): GateEvent[] {
  const { releaseId, environment, gates } = command.data;
  switch (command.type) {
    case 'RecordGateResult': {
      const { result } = command.data;
      if (!gates.some((g) => g.id === result.gateId)) throw new UnknownGateError(result.gateId, gates.map((g) => g.id));
      if (!isIsoInstant(result.startedAt)) throw new ValidationError('gate result', [{ field: 'startedAt', reason: 'must be an ISO-8601 instant' }]);
      return [{ type: 'GateResultRecorded', data: { releaseId, environment, result } }];
    }
    case 'OverrideWarnGate': {
      const { gateId, actor, now } = command.data;
      const gate = gates.find((g) => g.id === gateId);
      if (gate === undefined) throw new UnknownGateError(gateId, gates.map((g) => g.id));
      if (gate.onFailure !== 'warn') throw new GateNotOverridableError(gateId, gate.onFailure);
      const reason = requireReason(command.data.reason, `overriding ${gate.name}`);
      if (actor.trim() === '') throw new ValidationError('gate override', [{ field: 'actor', reason: 'an override is recorded against a person' }]);
      return [{ type: 'WarnGateOverridden', data: { releaseId, environment, override: { gateId, actor, reason, at: iso(now) } } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveGate(state: GateRecordState, event: GateEvent): GateRecordState {
  switch (event.type) {
    case 'GateResultRecorded':
      return { ...state, results: [...state.results, event.data.result] };
    case 'WarnGateOverridden':
      return { ...state, overrides: [...state.overrides.filter((o) => o.gateId !== event.data.override.gateId), event.data.override] };
    default:
      return assertNever(event);
  }
}

export const initialGateRecordState = (): GateRecordState => ({ results: [], overrides: [] });

export const gateRecordDecider: Decider<GateCommand, GateEvent, GateRecordState> = { decide: decideGate, evolve: evolveGate, initialState: initialGateRecordState };
