import type { StoredEvent } from '@gatehouse/eventstore';
import { randomUUID } from 'node:crypto';

/** Unique, subject-safe suffix so concurrent suites never share streams or subjects. */
export function uniqueSuffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 12);
}

let position = 0n;
/** A plausible stored event for tests that need no store. */
export function storedEvent(streamId: string, type: string, data: unknown = {}, overrides: Partial<StoredEvent> = {}): StoredEvent {
  position += 1n;
  return {
    id: randomUUID(),
    type,
    streamId,
    streamVersion: 0n,
    globalPosition: position,
    recordedAt: new Date(),
    data,
    metadata: { actor: 'test' },
    hash: 'f'.repeat(64),
    previousHash: '0'.repeat(64),
    ...overrides,
  };
}

export async function waitFor(predicate: () => boolean, { timeoutMs = 10_000, what = 'condition' } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
