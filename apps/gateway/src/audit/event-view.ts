import { type ReplayEvent, toReplayEvent } from '@gatehouse/eventstore';

/** A stored event as JSON (positions as strings, since they are 64-bit): the replay export's line format. */
export type EventView = ReplayEvent;
export const toEventView = toReplayEvent;
