/**
 * The one place an ingested CloudEvent becomes a command, shared by `POST /api/ingest` and the NATS
 * listener: validate against the contract, then map, so an invalid fact is refused whole and a valid
 * one always yields the same command (id derived from the CloudEvent's source and id).
 */
import { INGEST_EVENT_TYPES, INGEST_TYPE_PREFIX, IngestEvent, type IngestEventType, type IngestReleaseRef } from '@gatehouse/contracts';
import type { InitiatorSource } from '@gatehouse/domain';
import { type FieldIssue, issuesFromZod } from '@gatehouse/service-kit';
import { deterministicId, releaseIdFor } from '../lifecycle/ids.js';

export interface IngestCommand {
  context: string;
  command: string;
  payload: Record<string, unknown>;
}

export type IngestMapping =
  | { ok: true; type: IngestEventType; commandId: string; command: IngestCommand }
  | { ok: false; issues: FieldIssue[] };

export interface IngestOrigin {
  /** Who published: the token subject over HTTP, `ingest:<source>` over NATS. */
  actor: string;
  /** Used when the CloudEvent carries no `correlationid` extension. */
  correlationId: string;
  /**
   * The person the publisher's token names as behind the push (its GATEHOUSE_CI_INITIATOR_CLAIM claim), when it
   * carries one: it is the initiator, and a CloudEvent `initiator` must agree. Absent over NATS (no token).
   */
  initiatorClaim?: { claim: string; person: string };
}

/** The initiator claim of a verified token, when it is a non-empty string (a dotted name reaches into nested claims). */
export function initiatorClaimOf(claims: Readonly<Record<string, unknown>> | undefined, claim: string): { claim: string; person: string } | undefined {
  let value: unknown = claims;
  for (const key of claim.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value.trim() !== '' ? { claim, person: value.trim() } : undefined;
}

/** The command a fact (source, id) always maps to: redelivery is absorbed by the service. */
export function ingestCommandId(source: string, id: string): string {
  return deterministicId('ingest', `${source}\u0000${id}`);
}

export function mapIngestEvent(raw: unknown, origin: IngestOrigin): IngestMapping {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !(INGEST_EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, issues: [{ field: 'type', reason: `must be one of ${INGEST_EVENT_TYPES.join(', ')}` }] };
  }
  const parsed = IngestEvent.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const event = parsed.data;
  const commandId = ingestCommandId(event.source, event.id);
  const envelope = { commandId, actor: origin.actor, correlationId: event.correlationid ?? origin.correlationId };
  switch (event.type) {
    case 'gatehouse.release.built': {
      const { service, version, type: releaseType, title, description, changes } = event.data;
      return done(event.type, commandId, 'createRelease', {
        ...envelope,
        releaseId: releaseIdFor(service, version),
        release: { service, version, type: releaseType, title, description: description ?? '', changes },
      });
    }
    case 'gatehouse.testgate.result': {
      const { release, ...result } = event.data;
      return done(event.type, commandId, 'recordGateResult', { ...envelope, releaseId: releaseIdOf(release), ...result });
    }
    case 'gatehouse.migration.included': {
      const { release, ...migration } = event.data;
      return done(event.type, commandId, 'recordMigration', { ...envelope, releaseId: releaseIdOf(release), ...migration });
    }
    case 'gatehouse.validation.result':
      return done(event.type, commandId, 'recordValidationCheck', { ...envelope, ...event.data });
    case 'gatehouse.deployment.requested': {
      const { release, environment, kind, changeRequest } = event.data;
      const initiator = initiatorOf(event.initiator, origin.initiatorClaim);
      if (!initiator.ok) return { ok: false, issues: [initiator.issue] };
      const releaseId = releaseIdOf(release);
      return done(event.type, commandId, 'submitChange', {
        ...envelope,
        changeRequestId: deterministicId('changeRequest', commandId),
        kind,
        // The publisher is the author; the person behind the push is the initiator, kept away from approving it.
        draft: { ...changeRequest, environments: [environment], releaseId, author: origin.actor, initiator: initiator.person, initiatorSource: initiator.source },
      });
    }
  }
}

/**
 * The token's claim is the initiator: the body may repeat it but not contradict it (the token holder could name
 * anyone there). Without the claim, the body's word is all there is, and is recorded as such.
 */
function initiatorOf(
  asserted: string | undefined,
  claimed: IngestOrigin['initiatorClaim'],
): { ok: true; person: string; source: InitiatorSource } | { ok: false; issue: FieldIssue } {
  if (claimed !== undefined) {
    if (asserted !== undefined && asserted !== claimed.person) {
      return { ok: false, issue: { field: 'initiator', reason: `"${asserted}" contradicts the CI token's '${claimed.claim}' claim ("${claimed.person}"): the token names the person behind the push; leave initiator out or make it agree` } };
    }
    return { ok: true, person: claimed.person, source: 'token_claim' };
  }
  if (asserted === undefined) {
    return { ok: false, issue: { field: 'initiator', reason: "name the person whose push asked for the deployment (the CI run's actor), or publish with a CI token that carries the initiator claim" } };
  }
  return { ok: true, person: asserted, source: 'publisher_assertion' };
}

/** `gatehouse.release.built` ↔ NATS subject suffix `release.built`. */
export function ingestSubjectSuffix(type: IngestEventType): string {
  return type.slice(INGEST_TYPE_PREFIX.length);
}

function releaseIdOf(ref: IngestReleaseRef): string {
  return 'releaseId' in ref ? ref.releaseId : releaseIdFor(ref.service, ref.version);
}

function done(type: IngestEventType, commandId: string, command: string, payload: Record<string, unknown>): IngestMapping {
  return { ok: true, type, commandId, command: { context: 'changeRequests', command, payload } };
}
