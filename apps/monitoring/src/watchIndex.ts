import type { WatchRule } from '@gatehouse/domain';
import { START, type EventStore, type StoredEvent } from '@gatehouse/eventstore';
import { CHANGE_KIND_EVENTS, ChangeKindData } from './inbound.js';

const WATCH_EVENT_TYPES = ['PostDeploymentWatchStarted', 'WatchTimerArmed', 'PostDeploymentWatchPaused', 'PostDeploymentWatchAborted', 'PostDeploymentWatchCompleted', 'PostDeploymentWatchEnded', 'RollbackTriggerFired'];

/** An open watch as the Prometheus source reads it. */
export interface OpenWatch {
  changeRequestId: string;
  service: string;
  environment: string;
  rules: WatchRule[];
}
const INDEXED_TYPES: readonly string[] = [...WATCH_EVENT_TYPES, ...CHANGE_KIND_EVENTS];

/**
 * The monitoring service's small read model: which change each service+environment is being watched
 * for (samples arrive by service and environment), each open watch's timer, and each change's kind.
 * Read from the store, not kept from what this process did: `catchUp()` reads every indexed event
 * appended since the last look (gap-safe), by this replica or any other, so any replica serves any watch.
 */
export class WatchIndex {
  private readonly active = new Map<string, string>();
  private readonly timers = new Map<string, { dueAt: string; armedBy: string }>();
  private readonly changeKinds = new Map<string, string>();
  /** Every watch started: its service, environment and rules. */
  private readonly watches = new Map<string, Omit<OpenWatch, 'changeRequestId'>>();
  /** Per service+environment: the changes rolled back automatically since its last completed watch. */
  private readonly automaticRollbacks = new Map<string, Set<string>>();
  /** Watches paused on an inconclusive analysis: until when a decision is awaited, and the pausing event. */
  private readonly decisions = new Map<string, { decideBy: string; pausedBy: string }>();
  private position = START;
  /** Catch-ups run one after another, so the position only moves forward. */
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly store: EventStore) {}

  catchUp(): Promise<void> {
    // A failed read (store briefly away) is reported to its caller and does not block the next one.
    this.reading = this.reading.catch(() => undefined).then(async () => {
      for await (const event of this.store.readAll({ after: this.position, eventTypes: INDEXED_TYPES })) {
        this.apply(event);
        this.position = event.globalPosition;
      }
    });
    return this.reading;
  }

  activeWatch(service: string, environment: string): string | undefined {
    return this.active.get(keyOf(service, environment));
  }

  /** Open watches (a deployment started and its watch not yet ended), with their rules. */
  openWatches(): OpenWatch[] {
    return [...this.active.values()].flatMap((changeRequestId) => {
      const watch = this.watches.get(changeRequestId);
      return watch === undefined ? [] : [{ changeRequestId, ...watch }];
    });
  }

  /** Automatic rollbacks of the service in the environment in a row: counted since its last watch that completed. */
  consecutiveAutomaticRollbacks(service: string, environment: string): number {
    return this.automaticRollbacks.get(keyOf(service, environment))?.size ?? 0;
  }

  changeKind(changeRequestId: string): string | undefined {
    return this.changeKinds.get(changeRequestId);
  }

  /** Open watches whose timer is due at `now`, with the id of the event that armed it. */
  dueTimers(now: Date): Array<{ changeRequestId: string; armedBy: string }> {
    return [...this.timers].filter(([, t]) => Date.parse(t.dueAt) <= now.getTime()).map(([changeRequestId, t]) => ({ changeRequestId, armedBy: t.armedBy }));
  }

  /** Paused watches whose decision time has run out at `now`, with the id of the event that paused them. */
  expiredDecisions(now: Date): Array<{ changeRequestId: string; pausedBy: string }> {
    return [...this.decisions].filter(([, d]) => Date.parse(d.decideBy) <= now.getTime()).map(([changeRequestId, d]) => ({ changeRequestId, pausedBy: d.pausedBy }));
  }

  /** Folds one event (idempotent: the same event read again changes nothing). */
  apply(event: StoredEvent): void {
    if ((CHANGE_KIND_EVENTS as readonly string[]).includes(event.type)) {
      const parsed = ChangeKindData.safeParse(event.data);
      const kind = parsed.success ? (parsed.data.kind ?? parsed.data.changeType) : undefined;
      if (parsed.success && kind !== undefined) this.changeKinds.set(parsed.data.changeRequestId, kind);
      return;
    }
    const data = event.data as { changeRequestId: string; service?: string; environment?: string; dueAt?: string; decideBy?: string; rules?: WatchRule[]; action?: string };
    switch (event.type) {
      case 'PostDeploymentWatchStarted':
        this.active.set(keyOf(data.service!, data.environment!), data.changeRequestId);
        this.watches.set(data.changeRequestId, { service: data.service!, environment: data.environment!, rules: data.rules ?? [] });
        break;
      case 'RollbackTriggerFired': {
        const watch = this.watches.get(data.changeRequestId);
        if (watch === undefined || data.action !== 'rollback') break;
        const key = keyOf(watch.service, watch.environment);
        this.automaticRollbacks.set(key, new Set([...(this.automaticRollbacks.get(key) ?? []), data.changeRequestId]));
        break;
      }
      case 'WatchTimerArmed':
        this.timers.set(data.changeRequestId, { dueAt: data.dueAt!, armedBy: event.id });
        break;
      case 'PostDeploymentWatchPaused':
        this.timers.delete(data.changeRequestId);
        this.decisions.set(data.changeRequestId, { decideBy: data.decideBy!, pausedBy: event.id });
        break;
      case 'PostDeploymentWatchAborted':
        this.decisions.delete(data.changeRequestId);
        break;
      case 'PostDeploymentWatchCompleted':
      case 'PostDeploymentWatchEnded':
        if (event.type === 'PostDeploymentWatchCompleted') {
          const watch = this.watches.get(data.changeRequestId);
          if (watch !== undefined) this.automaticRollbacks.delete(keyOf(watch.service, watch.environment));
        }
        this.timers.delete(data.changeRequestId);
        this.decisions.delete(data.changeRequestId);
        for (const [key, changeRequestId] of this.active) if (changeRequestId === data.changeRequestId) this.active.delete(key);
        break;
      default:
        break;
    }
  }
}

function keyOf(service: string, environment: string): string {
  return JSON.stringify([service, environment]);
}
