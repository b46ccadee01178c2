import { InvalidSubjectTokenError } from './errors.js';

/**
 * Subject layout (one tree per deployment prefix, default `gatehouse`):
 *
 * - `<prefix>.evt.<category>.<EventType>` — events, stored in the all-events JetStream stream.
 *   The category is the stream id's part before its first '-': stream `changeRequest-0193…`
 *   has category `changeRequest`, so consumers filter one aggregate kind with
 *   `<prefix>.evt.changeRequest.>` and one event type with `<prefix>.evt.*.ChangeApproved`.
 * - `<prefix>.dlq.<category>.<EventType>` — events a consumer could not process (dead letters).
 * - `<prefix>.cmd.<context>.<Command>` — commands over core NATS request/reply.
 *
 * Every token must be a single NATS token: non-empty, no '.', no whitespace, no wildcards.
 */
export const DEFAULT_SUBJECT_PREFIX = 'gatehouse';

export const EVENT_SEGMENT = 'evt';
export const DLQ_SEGMENT = 'dlq';
export const COMMAND_SEGMENT = 'cmd';

// '.' separates tokens, '*' and '>' are wildcards, whitespace and control chars break the protocol line.
const INVALID_TOKEN = /[.*>\s\u0000-\u001f\u007f]/u;

/** Throws {@link InvalidSubjectTokenError} unless `token` is one safe NATS subject token. */
export function assertSubjectToken(part: string, token: string): string {
  if (token.length === 0 || INVALID_TOKEN.test(token)) throw new InvalidSubjectTokenError(part, token);
  return token;
}

/** A prefix may span several tokens (`acme.gatehouse`), each of which must be valid. */
export function assertSubjectPrefix(prefix: string): string {
  for (const token of prefix.split('.')) assertSubjectToken('subject prefix', token);
  return prefix;
}

/** Category of a stream id: its part before the first '-' (the whole id when there is none). */
export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return assertSubjectToken('category', dash === -1 ? streamId : streamId.slice(0, dash));
}

export function eventSubject(category: string, eventType: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${EVENT_SEGMENT}.${assertSubjectToken('category', category)}.${assertSubjectToken('event type', eventType)}`;
}

/** Subject an event of `streamId` is published on. */
export function eventSubjectFor(streamId: string, eventType: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return eventSubject(categoryOf(streamId), eventType, prefix);
}

export function deadLetterSubject(category: string, eventType: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${DLQ_SEGMENT}.${assertSubjectToken('category', category)}.${assertSubjectToken('event type', eventType)}`;
}

export function commandSubject(context: string, command: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${COMMAND_SEGMENT}.${assertSubjectToken('context', context)}.${assertSubjectToken('command', command)}`;
}

/** Wildcard covering every event (`<prefix>.evt.>`), the all-events stream's subject. */
export function allEventsSubject(prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${EVENT_SEGMENT}.>`;
}

export function allDeadLettersSubject(prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${DLQ_SEGMENT}.>`;
}

/** Filter subject for a consumer: one category, optionally one event type. */
export function eventFilter(
  filter: { category?: string; eventType?: string },
  prefix: string = DEFAULT_SUBJECT_PREFIX,
): string {
  const category = filter.category === undefined ? '*' : assertSubjectToken('category', filter.category);
  const type = filter.eventType === undefined ? '*' : assertSubjectToken('event type', filter.eventType);
  return `${assertSubjectPrefix(prefix)}.${EVENT_SEGMENT}.${category}.${type}`;
}

/**
 * Whether an event subject (`<prefix>.evt.<category>.<EventType>`) is one a subscription selected, read from the
 * subject alone, before the message is parsed. `undefined` for either list selects all of it; a subject that does
 * not follow the layout is not decided here (true): the consumer parses it and parks it if it is not an event.
 */
export function eventSubjectSelector(
  { categories, eventTypes }: { categories?: readonly string[] | undefined; eventTypes?: readonly string[] | undefined },
  prefix: string = DEFAULT_SUBJECT_PREFIX,
): (subject: string) => boolean {
  const head = `${assertSubjectPrefix(prefix)}.${EVENT_SEGMENT}.`;
  const categorySet = categories === undefined ? undefined : new Set(categories);
  const typeSet = eventTypes === undefined ? undefined : new Set(eventTypes);
  return (subject) => {
    if (!subject.startsWith(head)) return true;
    const dot = subject.indexOf('.', head.length);
    if (dot < 0 || subject.indexOf('.', dot + 1) >= 0) return true;
    return (categorySet === undefined || categorySet.has(subject.slice(head.length, dot))) && (typeSet === undefined || typeSet.has(subject.slice(dot + 1)));
  };
}
