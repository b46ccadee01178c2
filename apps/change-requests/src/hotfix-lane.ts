/**
 * Which change belongs to which hotfix, and which lane its release deployment takes. An emergency change
 * to the hotfix environment (production) that names a hotfix (`draft.hotfixId`) is that hotfix's change;
 * an emergency change elsewhere (the staging deployment of the same fix) may name it too but is not.
 */
import { HOTFIX_ENVIRONMENT } from '@gatehouse/contracts';
import { type DeploymentLane, type HotfixEvent, hotfixValidationEvidence, type HotfixValidationEvidence, foldEvents, hotfixDecider } from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { loadHotfixEvents, validatedReleaseOf } from './hotfix-streams.js';
import { type ExistingChange, loadRelease } from './streams.js';

/** The hotfix this change ships to production, or null when it is not a hotfix lane change. */
export function hotfixOfChange(change: Pick<ExistingChange, 'kind' | 'draft'>): string | null {
  const { hotfixId, environments } = change.draft;
  if (change.kind !== 'emergency' || hotfixId === undefined) return null;
  return environments.length === 1 && environments[0] === HOTFIX_ENVIRONMENT ? hotfixId : null;
}

/** The change ships the very release the hotfix validated in staging. */
export function shipsValidatedRelease(change: Pick<ExistingChange, 'draft'>, hotfixEvents: readonly HotfixEvent[]): boolean {
  const validated = validatedReleaseOf(hotfixEvents);
  return validated !== null && validated.releaseId === change.draft.releaseId;
}

export interface ReleaseLane {
  lane: DeploymentLane;
  /** On the hotfix lane: how staging validation ended; absent while it has not (the release then refuses the promotion). */
  hotfixValidation?: HotfixValidationEvidence;
}

/**
 * The lane of the release deployment this change starts (`StartReleaseDeployment.lane`): the hotfix lane,
 * with the hotfix's staging-validation evidence, for a hotfix lane change of a hotfix release; else normal.
 */
export async function releaseLaneFor(store: EventStore, change: ExistingChange): Promise<ReleaseLane> {
  const hotfixId = hotfixOfChange(change);
  const releaseId = change.draft.releaseId;
  if (hotfixId === null || releaseId === undefined) return { lane: 'normal' };
  const release = await loadRelease(store, releaseId);
  if (release.status === 'not_planned' || release.releaseType !== 'hotfix') return { lane: 'normal' };
  const events = await loadHotfixEvents(store, hotfixId);
  // Evidence of another release's validation is no evidence for this one.
  const evidence = shipsValidatedRelease(change, events) ? hotfixValidationEvidence(foldEvents(hotfixDecider, events)) : null;
  return { lane: 'hotfix', ...(evidence === null ? {} : { hotfixValidation: evidence }) };
}
