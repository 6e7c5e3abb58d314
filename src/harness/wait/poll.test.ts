import { describe, expect, it } from 'vitest';
import { FakeWaitTarget } from './fake-target.js';
import { attemptWithin, notYet, pollUntilReady, READY, untilAborted } from './poll.js';
import type { WaitContext } from './types.js';

function context(signal: AbortSignal, seen: string[] = []): WaitContext {
  return { target: new FakeWaitTarget(), exposedPorts: [], signal, since: Date.now(), saw: (s) => seen.push(s) };
}

describe('pollUntilReady', () => {
  it('tries again at once-short, then longer pauses, noting what each attempt saw', async () => {
    const seen: string[] = [];
    const times: number[] = [];
    let n = 0;
    await pollUntilReady(context(new AbortController().signal, seen), async () => {
      times.push(Date.now());
      return ++n < 6 ? notYet(`attempt ${n}`) : READY;
    });
    expect(seen).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'attempt 4', 'attempt 5']);
    // 20, 30, 45, 67, 101 ms: a service that is up quickly is seen quickly
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(250);
    expect(times.at(-1)! - times[0]!).toBeLessThan(800);
  });

  it('stops with the abort reason in the middle of a hung attempt, and says it was still running', async () => {
    const seen: string[] = [];
    const c = new AbortController();
    setTimeout(() => c.abort('deadline'), 1100);
    let n = 0;
    const p = pollUntilReady(context(c.signal, seen), () => (++n === 1 ? Promise.resolve(notYet('status 503')) : new Promise(() => {})));
    await expect(p).rejects.toBe('deadline');
    expect(seen.at(-1)).toMatch(/^status 503; then an attempt was still running after 1\.\d s$/);
  });
});

describe('untilAborted and attemptWithin', () => {
  it('untilAborted passes a result through and rejects with the reason on abort', async () => {
    expect(await untilAborted(Promise.resolve(1), new AbortController().signal)).toBe(1);
    await expect(untilAborted(new Promise(() => {}), AbortSignal.abort('gone'))).rejects.toBe('gone');
  });

  it('attemptWithin gives the timed-out value for a slow run and swallows its later failure', async () => {
    const late = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('late')), 60));
    expect(await attemptWithin(20, late, () => 'timed out')).toBe('timed out');
    await new Promise((r) => setTimeout(r, 60)); // an unhandled rejection would fail the run
    expect(await attemptWithin(1000, Promise.resolve('done'), () => 'timed out')).toBe('done');
  });
});
