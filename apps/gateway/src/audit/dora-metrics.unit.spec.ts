import { readFileSync } from 'node:fs';
import { fixedClock } from '@gatehouse/domain';
import { ANY, createInMemoryEventStore, type EventStore } from '@gatehouse/eventstore';
import { Registry } from 'prom-client';
import { registerDoraGauges } from './dora-metrics.js';

const FIXTURE = new URL('../../../../libs/domain/src/audit/fixtures/black-friday-week.ndjson', import.meta.url);
const CLOCK = fixedClock('2026-12-06T12:00:00Z');

it('serves the DORA gauges of the last 30 days, and still answers /metrics when the store is down', async () => {
  const store = createInMemoryEventStore();
  for (const line of readFileSync(FIXTURE, 'utf8').trim().split('\n')) {
    const event = JSON.parse(line) as { streamId: string; type: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
    await store.appendToStream(event.streamId, [{ type: event.type, data: event.data, metadata: event.metadata }], { expectedVersion: ANY });
  }
  const registry = new Registry();
  registerDoraGauges(registry, store, CLOCK);
  const text = await registry.metrics();
  expect(text).toContain('gatehouse_dora_change_failure_ratio{service="campaign-api",environment="production"} 0.5');
  expect(text).toContain('gatehouse_dora_deployments_per_day{service="checkout-api",environment="development"}');

  const down: EventStore = { ...store, readAll: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('connection refused')) }) }) } as unknown as EventStore;
  const fresh = new Registry();
  registerDoraGauges(fresh, down, CLOCK);
  const answered = await fresh.metrics();
  expect(answered).toContain('# TYPE gatehouse_dora_change_failure_ratio gauge');
  expect(answered).not.toMatch(/gatehouse_dora_change_failure_ratio\{/);
});
