import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { settableClock } from '@gatehouse/domain';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { clockSetting, controlledClock } from '../clock-control.js';
import { clockStreamName, joinSharedClock, natsClockControl } from './nats-clock.js';

const silent = { info: () => undefined, warn: () => undefined };

describe('the shared clock over NATS', () => {
  let nc: NatsConnection;
  const prefix = `clock${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    await requireNats();
    nc = await connect({ servers: natsUrl() });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(clockStreamName(prefix)).catch(() => undefined);
    await nc.close();
  });

  it('moves every member before set answers, and a member that joins later starts at the last setting', async () => {
    const jsm = await jetstreamManager(nc);
    const base = settableClock('2026-11-23T08:00:00Z');
    const gatewayClock = controlledClock(base);
    const schedulingClock = controlledClock(base);
    const control = await natsClockControl({ nc, jsm, prefix, name: 'gateway', clock: gatewayClock, logger: silent });
    const scheduling = await joinSharedClock({ nc, jsm, prefix, name: 'scheduling', clock: schedulingClock, logger: silent });

    const report = await control.set(clockSetting('2026-11-27T15:00:00Z', false, base));
    expect(report.appliedBy).toEqual(['gateway', 'scheduling']);
    expect(schedulingClock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');
    expect(gatewayClock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');

    // A process restarted after a crash: it follows the setting in force, not its own system time.
    const restartedClock = controlledClock(base);
    const restarted = await joinSharedClock({ nc, jsm, prefix, name: 'deployments', clock: restartedClock, logger: silent });
    expect(restartedClock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');

    await scheduling.close();
    const second = await control.set(clockSetting('2026-11-28T00:00:00Z', false, base));
    expect(second.appliedBy).toEqual(['deployments', 'gateway']);
    expect(schedulingClock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');
    expect(restartedClock.now().toISOString()).toBe('2026-11-28T00:00:00.000Z');
    await restarted.close();
    await control.close();
  });

  it('ignores a malformed setting published by someone else', async () => {
    const jsm = await jetstreamManager(nc);
    const base = settableClock('2026-11-23T08:00:00Z');
    const clock = controlledClock(base, clockSetting('2026-11-30T09:00:00Z', false, base));
    const member = await joinSharedClock({ nc, jsm, prefix: `${prefix}x`, name: 'monitoring', clock, logger: silent });
    nc.publish(`${prefix}x.admin.clock.set`, JSON.stringify({ at: 'soon' }));
    nc.publish(`${prefix}x.admin.clock.set`, 'not json');
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(clock.now().toISOString()).toBe('2026-11-30T09:00:00.000Z');
    await member.close();
    await jsm.streams.delete(clockStreamName(`${prefix}x`)).catch(() => undefined);
  });
});
