import { createInProcessCommandBus } from '@gatehouse/bus';
import { Registry } from 'prom-client';
import { timedCommandBus } from './command-metrics.js';

describe('timedCommandBus', () => {
  it('times every handler by service, command and outcome, and passes results and errors through', async () => {
    const registry = new Registry();
    const bus = timedCommandBus(createInProcessCommandBus(), registry, 'change-requests');
    await bus.register('changeRequests', 'createRelease', async (payload: { fail?: boolean }) => {
      if (payload.fail) throw new Error('refused');
      return { ok: true };
    });
    await expect(bus.send('changeRequests', 'createRelease', {})).resolves.toEqual({ ok: true });
    await expect(bus.send('changeRequests', 'createRelease', { fail: true })).rejects.toThrow('refused');
    const metric = await registry.getSingleMetric('gatehouse_command_handler_duration_seconds')?.get();
    const counts = metric?.values.filter((v) => (v as { metricName?: string }).metricName === 'gatehouse_command_handler_duration_seconds_count').map((v) => [v.labels.outcome, v.value]);
    expect(counts).toEqual(expect.arrayContaining([['ok', 1], ['error', 1]]));
    expect(metric?.values.find((v) => v.labels.outcome === 'ok')?.labels).toMatchObject({ service: 'change-requests', context: 'changeRequests', command: 'createRelease' });
    await bus.close();
  });
});
