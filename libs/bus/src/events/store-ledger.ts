/**
 * Embedded mode's dead letters and set-aside events, kept in the event store itself (PGlite or PostgreSQL),
 * so a restart loses neither. There is no JetStream in one process; instead, two kinds of ledger stream:
 * - `reactionLedger-deadLetters`: `EventDeadLettered` when a durable in-process consumer parks an event
 *   (poison, data failing its schema, a fact that never came), `DeadLetterRedriven` when an operator hands it
 *   back. A dead letter's id is the global position of its `EventDeadLettered` (a positive whole number, as the
 *   JetStream form's stream sequence). The consumer that parked it sees the `DeadLetterRedriven` in its own feed
 *   and handles the original event again before its checkpoint moves past the redrive: a crash in between
 *   brings the redrive back.
 * - `reactionLedger-<consumer>`: `EventSetAside` when the consumer sets an event aside to wait for a fact
 *   another producer has not committed yet (OutOfOrderError), `SetAsideEventResumed` once it was handled or
 *   dead-lettered. At start the consumer takes back every set-aside event without a resumption.
 * The ledger is part of the log: it is hashed, sealed and audited like every other fact.
 */
import { ANY, type EventStore, type StoredEvent } from '@gatehouse/eventstore';
import { toEnvelope } from '../envelope.js';
import { DEFAULT_SUBJECT_PREFIX, eventSubjectFor } from '../subjects.js';
import type { DeadLetterReason } from './consumer.js';
import { type DeadLetterAdmin, type DeadLetterDetail, DeadLetterNotFoundError, type DeadLetterView, DEFAULT_DEAD_LETTER_PAGE } from './dead-letters.js';

export const REACTION_LEDGER_CATEGORY = 'reactionLedger';
export const DEAD_LETTER_LEDGER_STREAM = `${REACTION_LEDGER_CATEGORY}-deadLetters`;
const MAX_PAGE = 1_000;

export const LedgerEventTypes = {
  DeadLettered: 'EventDeadLettered',
  Redriven: 'DeadLetterRedriven',
  SetAside: 'EventSetAside',
  Resumed: 'SetAsideEventResumed',
} as const;

/** The ledger stream of one durable in-process consumer's set-aside events. */
export function setAsideStream(consumer: string): string {
  return `${REACTION_LEDGER_CATEGORY}-${consumer}`;
}

/** Where an event of the log is found again: its stream and id. */
export interface EventRef {
  eventId: string;
  streamId: string;
  type: string;
  globalPosition: string;
}

export interface DeadLetteredData extends EventRef {
  consumer: string;
  reason: DeadLetterReason;
  deliveryCount: number;
  errorName: string | null;
  error: string | null;
}

export interface RedrivenData {
  deadLetterId: string;
  consumer: string;
  eventId: string;
  streamId: string;
}

export const refOf = (event: StoredEvent): EventRef => ({ eventId: event.id, streamId: event.streamId, type: event.type, globalPosition: String(event.globalPosition) });

/** The event `ref` names, read back from its stream; undefined when the log does not hold it. */
export async function loadEvent(store: EventStore, ref: { streamId: string; eventId: string }): Promise<StoredEvent | undefined> {
  return (await store.readStream(ref.streamId)).find((event) => event.id === ref.eventId);
}

export async function recordDeadLetter(store: EventStore, data: DeadLetteredData): Promise<void> {
  await store.appendToStream(DEAD_LETTER_LEDGER_STREAM, [{ type: LedgerEventTypes.DeadLettered, data, metadata: { actor: data.consumer } }], { expectedVersion: ANY });
}

export async function recordSetAside(store: EventStore, consumer: string, ref: EventRef): Promise<void> {
  await store.appendToStream(setAsideStream(consumer), [{ type: LedgerEventTypes.SetAside, data: { consumer, ...ref }, metadata: { actor: consumer } }], { expectedVersion: ANY });
}

export async function recordResumed(store: EventStore, consumer: string, ref: EventRef, outcome: 'handled' | 'dead_lettered'): Promise<void> {
  await store.appendToStream(setAsideStream(consumer), [{ type: LedgerEventTypes.Resumed, data: { consumer, ...ref, outcome }, metadata: { actor: consumer } }], { expectedVersion: ANY });
}

/** The consumer's set-aside events still waiting (no resumption recorded), oldest first. */
export async function stillSetAside(store: EventStore, consumer: string): Promise<EventRef[]> {
  const waiting = new Map<string, EventRef>();
  for (const event of await store.readStream(setAsideStream(consumer))) {
    const data = event.data as EventRef;
    if (event.type === LedgerEventTypes.SetAside) waiting.set(data.eventId, { eventId: data.eventId, streamId: data.streamId, type: data.type, globalPosition: data.globalPosition });
    else if (event.type === LedgerEventTypes.Resumed) waiting.delete(data.eventId);
  }
  return [...waiting.values()];
}

/** A redrive addressed to `consumer`, when `event` is one. */
export function redriveFor(consumer: string, event: StoredEvent): RedrivenData | undefined {
  if (event.streamId !== DEAD_LETTER_LEDGER_STREAM || event.type !== LedgerEventTypes.Redriven) return undefined;
  const data = event.data as RedrivenData;
  return data.consumer === consumer ? data : undefined;
}

export interface StoreDeadLetterAdminOptions {
  store: EventStore;
  /** Subject prefix the views name (as the JetStream form would). @defaultValue DEFAULT_SUBJECT_PREFIX */
  subjectPrefix?: string;
}

/** `deadLetters.list|get|redrive` over the store's ledger (embedded mode), the same contract as the JetStream form's. */
export function createStoreDeadLetterAdmin({ store, subjectPrefix = DEFAULT_SUBJECT_PREFIX }: StoreDeadLetterAdminOptions): DeadLetterAdmin {
  /** The dead letters not redriven, by id, and the ledger's version (a redrive appends only on top of what it read). */
  async function current(): Promise<{ letters: Map<string, { view: DeadLetterView; data: DeadLetteredData }>; version: bigint | undefined }> {
    const ledger = await store.readStream(DEAD_LETTER_LEDGER_STREAM);
    const letters = new Map<string, { view: DeadLetterView; data: DeadLetteredData }>();
    for (const event of ledger) {
      if (event.type === LedgerEventTypes.DeadLettered) {
        const data = event.data as DeadLetteredData;
        const id = String(event.globalPosition);
        letters.set(id, {
          data,
          view: {
            id,
            reason: data.reason,
            consumer: data.consumer,
            eventId: data.eventId,
            originalSubject: eventSubjectFor(data.streamId, data.type, subjectPrefix),
            deliveryCount: data.deliveryCount,
            errorName: data.errorName,
            error: data.error,
            parkedAt: event.recordedAt.toISOString(),
          },
        });
      } else if (event.type === LedgerEventTypes.Redriven) {
        letters.delete((event.data as RedrivenData).deadLetterId);
      }
    }
    return { letters, version: ledger.at(-1)?.streamVersion };
  }
  async function find(id: number) {
    const state = await current();
    const letter = state.letters.get(String(id));
    if (letter === undefined) throw new DeadLetterNotFoundError(String(id));
    return { ...state, letter };
  }

  return {
    async list({ after = 0, limit = DEFAULT_DEAD_LETTER_PAGE } = {}) {
      const page = Math.min(Math.max(1, limit), MAX_PAGE);
      const all = [...(await current()).letters.values()].map((letter) => letter.view).filter((view) => Number(view.id) > after);
      const deadLetters = all.slice(0, page);
      return { deadLetters, next: all.length > page ? (deadLetters.at(-1)?.id ?? null) : null };
    },
    async get(id): Promise<DeadLetterDetail> {
      const { letter } = await find(id);
      const event = await loadEvent(store, letter.data);
      return { ...letter.view, payload: event === undefined ? null : toEnvelope(event) };
    },
    async redrive(id) {
      const { letter, version } = await find(id);
      const data: RedrivenData = { deadLetterId: String(id), consumer: letter.data.consumer, eventId: letter.data.eventId, streamId: letter.data.streamId };
      // On top of the version read: two operators redriving the same letter at once redrive it once (the other gets a conflict).
      await store.appendToStream(DEAD_LETTER_LEDGER_STREAM, [{ type: LedgerEventTypes.Redriven, data }], { expectedVersion: version ?? ANY });
      return { id: String(id), consumer: letter.data.consumer, eventId: letter.data.eventId, redrivenTo: letter.data.consumer };
    },
  };
}
