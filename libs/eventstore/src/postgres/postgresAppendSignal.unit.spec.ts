import type pg from 'pg';
import { postgresAppendSignal } from './postgresAppendSignal.js';

/** A pool whose queries finish when the test says so. */
function controllablePool() {
  const pending: (() => void)[] = [];
  const pool = { query: () => new Promise<void>((resolve) => pending.push(resolve)), options: {} } as unknown as pg.Pool;
  return { pool, pending };
}

describe('postgresAppendSignal', () => {
  it('an append that commits while a NOTIFY transaction is open waits for it (else readAll would hold the append back)', async () => {
    const { pool, pending } = controllablePool();
    const signal = postgresAppendSignal(pool, 'gatehouse');
    expect(signal.appended()).toBeUndefined(); // starts a NOTIFY after its own commit: nothing of it is held back
    expect(pending).toHaveLength(1);

    let released = false;
    const joined = signal.appended();
    expect(joined).toBeInstanceOf(Promise);
    void joined?.then(() => {
      released = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(released).toBe(false);

    pending.shift()?.();
    await joined;
    expect(released).toBe(true);
    // The joined append is announced by one more NOTIFY, started after it committed.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(pending).toHaveLength(1);
    pending.shift()?.();
    await signal.close();
  });
});
