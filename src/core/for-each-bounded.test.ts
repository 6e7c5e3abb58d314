import { describe, expect, it } from 'vitest';
import { forEachBounded } from './for-each-bounded.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('forEachBounded', () => {
  it('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++running);
      for (let i = 0; i < n % 3 + 1; i++) await tick();
      running--;
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('after the first failure starts nothing more, tells the running ones, and throws once they ended', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const run = forEachBounded([1, 2, 3, 4, 5], 2, async (n, signal) => {
      started.push(n);
      if (n === 1) throw new Error('one failed');
      // the other running task ends only when told
      while (!signal.aborted) await tick();
      ended.push(n);
    });
    await expect(run).rejects.toThrow('one failed');
    expect(started).toEqual([1, 2]);
    expect(ended).toEqual([2]);
  });
});
