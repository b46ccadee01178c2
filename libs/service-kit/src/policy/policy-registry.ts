import { type EventStore, NO_STREAM, WrongExpectedVersionError } from '@gatehouse/eventstore';
import { loadPolicySet, type PolicySet } from '@gatehouse/policy';
import type { Clock } from '@gatehouse/domain';
import {
  decideActivation,
  EMPTY_POLICY_HISTORY,
  evolvePolicyHistory,
  POLICY_STREAM,
  type PolicyHistory,
  type PolicyHistoryEntry,
  policyVersionAt,
  type PolicyVersionActivated,
} from './policy-history.js';
import { readPolicyDirectory } from './policy-files.js';

/** Several gateways may start at once; a lost race is retried on the fresh history this many times. */
const ACTIVATION_ATTEMPTS = 3;

/** The active policy set and the history of activations, backed by the event store. */
export class PolicyRegistry {
  private constructor(
    private readonly store: EventStore,
    private policySet: PolicySet,
    private history: PolicyHistory,
  ) {}

  /**
   * Loads and validates the folder (throws PolicyValidationError naming file and path), then records its version if new,
   * as activated by `activatedBy` (the operator or deploy identity that started the process with these files,
   * GATEHOUSE_POLICY_ACTIVATED_BY); without one the activation is recorded as the system's.
   */
  static async activateFromDirectory(store: EventStore, directory: string, clock: Clock, activatedBy?: string): Promise<PolicyRegistry> {
    const files = await readPolicyDirectory(directory);
    const policySet = loadPolicySet(files);
    const candidate = { policyVersion: policySet.policyVersion, environments: Object.keys(policySet.environments).sort(), files };
    for (let attempt = 1; ; attempt++) {
      const history = await readHistory(store);
      const events = decideActivation(history, candidate, clock.now());
      if (events.length === 0) return new PolicyRegistry(store, policySet, history);
      try {
        await store.appendToStream(
          POLICY_STREAM,
          events.map((event) => ({ ...event, metadata: { actor: activatedBy ?? 'system', policyVersion: policySet.policyVersion } })),
          { expectedVersion: history.version ?? NO_STREAM },
        );
        return new PolicyRegistry(store, policySet, await readHistory(store));
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= ACTIVATION_ATTEMPTS) throw error;
      }
    }
  }

  get current(): PolicySet {
    return this.policySet;
  }

  entries(): readonly PolicyHistoryEntry[] {
    return this.history.entries;
  }

  versionAt(at: Date): PolicyHistoryEntry | undefined {
    return policyVersionAt(this.history, at);
  }

  /** Re-reads the history, e.g. after another instance activated a version. */
  async refresh(): Promise<void> {
    this.history = await readHistory(this.store);
  }
}

async function readHistory(store: EventStore): Promise<PolicyHistory> {
  let history = EMPTY_POLICY_HISTORY;
  for (const event of await store.readStream(POLICY_STREAM)) {
    if (event.type === 'PolicyVersionActivated') {
      history = evolvePolicyHistory(history, event as unknown as PolicyVersionActivated, event.streamVersion);
    }
  }
  return history;
}
