/**
 * Settles a promise on Vitest's fake clock (the caller has called vi.useFakeTimers()): how long a
 * wait took is then a fact of the code's own timers, which a loaded machine cannot stretch.
 */
import { vi } from 'vitest';

export interface Settled<T> {
  /** fake-clock milliseconds from the call to the promise settling */
  ms: number;
  result: PromiseSettledResult<T>;
}

/** Advances the fake clock in steps of `stepMs` until `p` settles; throws once `limitMs` have passed without it. */
export async function settleOnFakeClock<T>(p: Promise<T>, { stepMs = 1, limitMs = 600_000 } = {}): Promise<Settled<T>> {
  const start = Date.now();
  let result: PromiseSettledResult<T> | undefined;
  p.then(
    (value) => (result = { status: 'fulfilled', value }),
    (reason: unknown) => (result = { status: 'rejected', reason }),
  );
  await vi.advanceTimersByTimeAsync(0);
  while (!result) {
    if (Date.now() - start >= limitMs) throw new Error(`still pending after ${limitMs} ms of the fake clock`);
    await vi.advanceTimersByTimeAsync(stepMs);
  }
  return { ms: Date.now() - start, result };
}

/** The rejection reason of a settled promise, or a failure when it resolved. */
export function rejection<T>(s: Settled<T>): unknown {
  if (s.result.status === 'fulfilled') throw new Error('expected a rejection, the promise resolved');
  return s.result.reason;
}
