/**
 * Iterates `source` while a background loop keeps up to `capacity` items
 * buffered, so the consumer never waits for the source's next round trip
 * (e.g. a database batch) while it still has work. Yields everything buffered
 * at once, as an array, so the consumer can act on a burst synchronously.
 * Errors from the source surface after the items read before them. Breaking
 * out stops the producer at its next item and closes the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, capacity: number): AsyncGenerator<T[]> {
  const buffer: T[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let cancelled = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const signalConsumer = (): void => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };

  const producer = (async () => {
    try {
      for await (const item of source) {
        if (cancelled) return;
        buffer.push(item);
        signalConsumer();
        if (buffer.length >= capacity) await new Promise<void>((resolve) => (wakeProducer = resolve));
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      signalConsumer();
    }
  })();

  try {
    for (;;) {
      if (buffer.length > 0) {
        const burst = buffer.splice(0);
        wakeProducer?.();
        wakeProducer = undefined;
        yield burst;
        continue;
      }
      if (finished) {
        if (failure !== undefined) throw failure.error;
        return;
      }
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    cancelled = true;
    wakeProducer?.();
    await producer;
  }
}
