import type { StoredEvent } from '@gatehouse/eventstore';

/**
 * The monitoring service's small read model: which change each service+environment is being watched
 * for (samples arrive by service and environment), and each open watch's timer. Built from the watch
 * events: replayed from the log at start, then fed with every event this instance appends.
 */
export class WatchIndex {
  private readonly active = new Map<string, string>();
  private readonly timers = new Map<string, { dueAt: string; armedBy: string }>();
  private readonly changeKinds = new Map<string, string>();

  activeWatch(service: string, environment: string): string | undefined {
    return this.active.get(keyOf(service, environment));
  }

  changeKind(changeRequestId: string): string | undefined {
    return this.changeKinds.get(changeRequestId);
  }

  /** Open watches whose timer is due at `now`, with the id of the event that armed it. */
  dueTimers(now: Date): Array<{ changeRequestId: string; armedBy: string }> {
    return [...this.timers].filter(([, t]) => Date.parse(t.dueAt) <= now.getTime()).map(([changeRequestId, t]) => ({ changeRequestId, armedBy: t.armedBy }));
  }

  rememberKind(changeRequestId: string, kind: string): void {
    this.changeKinds.set(changeRequestId, kind);
  }

  apply(event: StoredEvent): void {
    const data = event.data as { changeRequestId: string; service?: string; environment?: string; dueAt?: string };
    switch (event.type) {
      case 'PostDeploymentWatchStarted':
        this.active.set(keyOf(data.service!, data.environment!), data.changeRequestId);
        break;
      case 'WatchTimerArmed':
        this.timers.set(data.changeRequestId, { dueAt: data.dueAt!, armedBy: event.id });
        break;
      case 'PostDeploymentWatchCompleted':
      case 'PostDeploymentWatchEnded':
        this.timers.delete(data.changeRequestId);
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
