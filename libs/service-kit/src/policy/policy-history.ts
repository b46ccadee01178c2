/**
 * Policy changes are events: every policy version that became active is recorded on one stream,
 * so "which policy applied at time T" is answered from the log, not from today's files.
 */
import type { PolicyFile } from '@gatehouse/policy';

export const POLICY_STREAM = 'policy-active';

export interface PolicyVersionActivated {
  type: 'PolicyVersionActivated';
  data: {
    policyVersion: string;
    previousVersion: string | null;
    environments: string[];
    files: PolicyFile[];
    activatedAt: string;
  };
}

export interface PolicyHistoryEntry {
  policyVersion: string;
  environments: string[];
  activatedAt: string;
}

export interface PolicyHistory {
  entries: PolicyHistoryEntry[];
  /** Stream version of the last activation; undefined before the first. */
  version: bigint | undefined;
}

export const EMPTY_POLICY_HISTORY: PolicyHistory = { entries: [], version: undefined };

export function evolvePolicyHistory(state: PolicyHistory, event: PolicyVersionActivated, streamVersion: bigint): PolicyHistory {
  const { policyVersion, environments, activatedAt } = event.data;
  return { entries: [...state.entries, { policyVersion, environments, activatedAt }], version: streamVersion };
}

/** Activating the version already active records nothing: restarts do not grow the history. */
export function decideActivation(
  state: PolicyHistory,
  candidate: { policyVersion: string; environments: string[]; files: PolicyFile[] },
  now: Date,
): PolicyVersionActivated[] {
  const current = state.entries.at(-1)?.policyVersion ?? null;
  if (current === candidate.policyVersion) return [];
  return [{ type: 'PolicyVersionActivated', data: { ...candidate, previousVersion: current, activatedAt: now.toISOString() } }];
}

/** The entry in force at `at`: the last activation at or before it. */
export function policyVersionAt(state: PolicyHistory, at: Date): PolicyHistoryEntry | undefined {
  let found: PolicyHistoryEntry | undefined;
  for (const entry of state.entries) {
    if (Date.parse(entry.activatedAt) <= at.getTime()) found = entry;
  }
  return found;
}
