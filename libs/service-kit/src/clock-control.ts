/**
 * Moving the clock of a running Gatehouse (demos, end-to-end tests): every rule reads its
 * clock, so fast-forwarding to a window, a blackout or a watch's end is setting one value.
 * Off unless `GATEHOUSE_CLOCK_CONTROL=on`, and never allowed with NODE_ENV=production.
 *
 * In one process the gateway and the services share one `ControlledClock`. In the
 * distributed form the setting travels over NATS (see `nats-clock.ts`): each process
 * holds its own `ControlledClock` and applies what the gateway publishes.
 */
import { type Clock, systemClock } from '@gatehouse/domain';
import { z } from 'zod';

/** What a clock is set to: an instant, and whether time runs on from it or stands still. */
export const ClockSetting = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  /** true: time runs on from `at` (demos); false: it stays at `at` until set again (tests). */
  running: z.boolean(),
  /** Base-clock instant at which the setting was made; a running clock counts from it. */
  setAt: z.iso.datetime({ offset: true }),
});
export type ClockSetting = z.infer<typeof ClockSetting>;

export interface ControlledClock extends Clock {
  /** The setting in force; null while the clock follows its base. */
  readonly setting: ClockSetting | null;
  /**
   * The clock settings are stamped with (`setAt`) and a running setting counts elapsed time on. Not
   * the base: a base started at GATEHOUSE_CLOCK is offset from real time, and each process computes
   * that offset at its own start, so elapsed time measured against it would run the set clock back
   * by the offset (and differently in every process).
   */
  readonly reference: Clock;
  apply(setting: ClockSetting): void;
}

/**
 * A clock that follows `base` until a setting is applied, then shows the set time (running or
 * stopped). Settings are stamped and counted on `reference` (@defaultValue `base`): give the
 * unshifted clock (the system clock) when `base` is shifted.
 */
export function controlledClock(base: Clock = systemClock, initial: ClockSetting | null = null, reference: Clock = base): ControlledClock {
  let setting = initial;
  let atMs = 0;
  let setAtMs = 0;
  const remember = (next: ClockSetting): void => {
    setting = next;
    atMs = Date.parse(next.at);
    setAtMs = Date.parse(next.setAt);
  };
  if (initial) remember(initial);
  return {
    get setting() {
      return setting;
    },
    reference,
    now: () => {
      if (setting === null) return base.now();
      return new Date(setting.running ? atMs + (reference.now().getTime() - setAtMs) : atMs);
    },
    apply: (next) => remember(ClockSetting.parse(next)),
  };
}

/** A setting made now on `reference` (the controlled clock's `reference`): `at` (an ISO instant) running or stopped. */
export function clockSetting(at: string, running: boolean, reference: Clock = systemClock): ClockSetting {
  return ClockSetting.parse({ at: new Date(at).toISOString(), running, setAt: reference.now().toISOString() });
}

/** Who applied a setting: the processes sharing the clock that acknowledged it. */
export interface ClockSetReport {
  setting: ClockSetting;
  /** Names of the processes (or `gatehouse` in one process) that applied it before the reply. */
  appliedBy: string[];
}

/** How the gateway moves the clock of the whole system. */
export interface ClockControl {
  readonly clock: ControlledClock;
  set(setting: ClockSetting): Promise<ClockSetReport>;
  /** Resolves when the connection settings travel over answers (distributed form); absent in one process. */
  ready?(): Promise<void>;
  close(): Promise<void>;
}

/** One process: the gateway and the services share the clock itself. */
export function localClockControl(clock: ControlledClock, name = 'gatehouse'): ClockControl {
  return {
    clock,
    set: async (setting) => {
      clock.apply(setting);
      return { setting, appliedBy: [name] };
    },
    close: async () => undefined,
  };
}

/** Refused: the clock can only be moved where clock control was switched on. */
export class ClockControlDisabledError extends Error {
  override readonly name = 'ClockControlDisabledError';
  readonly code = 'CLOCK_CONTROL_DISABLED' as const;
  constructor() {
    super('clock control is off: start Gatehouse with GATEHOUSE_CLOCK_CONTROL=on to move its clock (demos and tests only; refused with NODE_ENV=production)');
  }
}

/** GATEHOUSE_CLOCK_CONTROL: `on` lets the gateway move the clock; refused with NODE_ENV=production. */
export const ClockControlSetting = z.enum(['on', 'off']).default('off');
export const CLOCK_CONTROL_IN_PRODUCTION = 'must be off when NODE_ENV=production: a movable clock would let anyone open a deployment window';
