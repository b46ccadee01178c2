/**
 * The shared clock of the distributed form. The gateway publishes a `ClockSetting`:
 * - to `<prefix>.admin.clock.state`, a JetStream stream keeping the last one, so a process
 *   that starts (or restarts after a crash) later picks it up;
 * - as a request to `<prefix>.admin.clock.set`, which every running process applies and
 *   acknowledges with its name, so the caller knows who moved before it goes on.
 */
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ClockSetting, type ClockControl, type ControlledClock } from '../clock-control.js';

export const clockStateSubject = (prefix: string): string => `${prefix}.admin.clock.state`;
export const clockSetSubject = (prefix: string): string => `${prefix}.admin.clock.set`;
export const clockStreamName = (prefix: string): string => `${prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_CLOCK`;

/** How long `set` keeps collecting acknowledgements after the last one arrived, in ms. */
const ACK_STALL_MS = 150;
const ACK_MAX_WAIT_MS = 3_000;
/** JetStream API error: a stream with this name exists. */
const STREAM_NAME_IN_USE = 10058;

interface Logger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

async function ensureClockStream(jsm: JetStreamManager, prefix: string): Promise<void> {
  const name = clockStreamName(prefix);
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams
      .add({ name, subjects: [clockStateSubject(prefix)], storage: StorageType.File, retention: RetentionPolicy.Limits, max_msgs_per_subject: 1, description: 'Gatehouse: the clock setting (clock control on)' })
      .catch((addError: unknown) => {
        // Another process created it first.
        if (!(addError instanceof JetStreamApiError && addError.code === STREAM_NAME_IN_USE)) throw addError;
      });
  }
}

/** The last published setting, or null when the clock was never moved. */
export async function lastClockSetting(jsm: JetStreamManager, prefix: string): Promise<ClockSetting | null> {
  const message = await jsm.streams.getMessage(clockStreamName(prefix), { last_by_subj: clockStateSubject(prefix) }).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.NoMessageFound || error.code === JetStreamApiCodes.StreamNotFound)) return null;
    throw error;
  });
  return message === null ? null : ClockSetting.parse(message.json());
}

export interface SharedClockMember {
  close(): Promise<void>;
}

/** Makes `clock` follow the shared setting: the last one now, every new one as it is published. */
export async function joinSharedClock(options: { nc: NatsConnection; jsm: JetStreamManager; prefix: string; name: string; clock: ControlledClock; logger: Logger }): Promise<SharedClockMember> {
  const { nc, jsm, prefix, name, clock, logger } = options;
  await ensureClockStream(jsm, prefix);
  const subscription: Subscription = nc.subscribe(clockSetSubject(prefix), {
    callback: (error, message) => {
      if (error) return logger.warn({ error: String(error) }, 'clock subscription failed');
      let body: unknown;
      try {
        body = message.json();
      } catch {
        body = undefined;
      }
      const parsed = ClockSetting.safeParse(body);
      if (!parsed.success) return logger.warn({ issues: parsed.error.issues }, 'ignored a malformed clock setting');
      clock.apply(parsed.data);
      message.respond(JSON.stringify({ name }));
    },
  });
  // Subscribe before reading the last setting, so one published in between is not missed.
  await nc.flush();
  const last = await lastClockSetting(jsm, prefix);
  if (last && (clock.setting === null || Date.parse(last.setAt) >= Date.parse(clock.setting.setAt))) clock.apply(last);
  if (clock.setting) logger.info({ clock: clock.setting }, 'clock control on: following the shared clock setting');
  return { close: async () => subscription.unsubscribe() };
}

/** The gateway's side: publishes a setting for every process and reports who applied it. */
export async function natsClockControl(options: { nc: NatsConnection; jsm: JetStreamManager; prefix: string; name: string; clock: ControlledClock; logger: Logger }): Promise<ClockControl> {
  const { nc, prefix, name, clock } = options;
  const member = await joinSharedClock(options);
  return {
    clock,
    set: async (setting) => {
      const body = JSON.stringify(ClockSetting.parse(setting));
      // joinSharedClock made the stream when this control started.
      const ack = await nc.request(clockStateSubject(prefix), body, { timeout: ACK_MAX_WAIT_MS });
      if (ack.json<{ error?: unknown }>().error !== undefined) throw new Error(`clock setting not stored: ${ack.string()}`);
      const appliedBy = new Set<string>();
      // The gateway itself subscribes, so there is always a responder.
      const replies = await nc.requestMany(clockSetSubject(prefix), body, { strategy: 'stall', stall: ACK_STALL_MS, maxWait: ACK_MAX_WAIT_MS });
      for await (const reply of replies) appliedBy.add(reply.json<{ name: string }>().name);
      clock.apply(setting);
      appliedBy.add(name);
      return { setting, appliedBy: [...appliedBy].sort() };
    },
    close: () => member.close(),
  };
}
