/**
 * Runs `task` for each item in the list's order, at most `limit` at once. The first failure stops
 * the rest: no further item starts, and `signal` tells the running ones; once every running task
 * has ended, that failure is thrown — so whatever they clean up is cleaned up before the caller
 * goes on (layers streamed side by side, images built side by side).
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item, abort.signal);
      } catch (error) {
        failure ??= { error };
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
