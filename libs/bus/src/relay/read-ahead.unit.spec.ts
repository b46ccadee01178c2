import { readAhead } from './read-ahead.js';

async function* numbers(count: number, log: string[], failAt?: number): AsyncGenerator<number> {
  try {
    for (let n = 0; n < count; n += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (n === failAt) throw new Error(`source failed at ${n}`);
      log.push(`produced ${n}`);
      yield n;
    }
  } finally {
    log.push('source closed');
  }
}

describe('readAhead', () => {
  it('yields every item in order', async () => {
    const out: number[] = [];
    let largest = 0;
    for await (const burst of readAhead(numbers(50, []), 8)) {
      out.push(...burst);
      largest = Math.max(largest, burst.length);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a slow consumer lets items pile up
    }
    expect(out).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(largest).toBeGreaterThan(1);
    expect(largest).toBeLessThanOrEqual(8);
  });

  it('reads ahead while the consumer is busy, but never more than its capacity', async () => {
    const log: string[] = [];
    const iterator = readAhead(numbers(20, log), 3)[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 1 consumed + 3 buffered (+1 item the producer holds while waiting for room).
    const produced = log.filter((line) => line.startsWith('produced')).length;
    expect(produced).toBeGreaterThanOrEqual(4);
    expect(produced).toBeLessThanOrEqual(5);
    await iterator.return!(undefined);
    expect(log.at(-1)).toBe('source closed');
  });

  it('surfaces a source error after the items read before it', async () => {
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const burst of readAhead(numbers(10, [], 4), 8)) out.push(...burst);
      })(),
    ).rejects.toThrow('source failed at 4');
    expect(out).toEqual([0, 1, 2, 3]);
  });
});
