import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWaitTarget } from './fake-target.js';
import { attemptWithin, notYet, pollUntilReady, READY, untilAborted } from './poll.js';
import type { WaitContext } from './types.js';

function context(signal: AbortSignal, seen: string[] = []): WaitContext {
  return { target: new FakeWaitTarget(), exposedPorts: [], signal, since: Date.now(), saw: (s) => seen.push(s) };
}

// the clock is Vitest's: the schedule is exact, and a loaded machine cannot stretch it
describe('pollUntilReady', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tries again at once-short, then longer pauses, noting what each attempt saw', async () => {
    const seen: string[] = [];
    const times: number[] = [];
    let n = 0;
    const p = pollUntilReady(context(new AbortController().signal, seen), async () => {
      times.push(Date.now());
      return ++n < 6 ? notYet(`attempt ${n}`) : READY;
    });
    await vi.runAllTimersAsync();
    await p;
    expect(seen).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'attempt 4', 'attempt 5']);
    // pauses of 20, 30, 45, 67.5, 101.25 ms: a service that is up quickly is seen quickly
    const pauses = times.slice(1).map((t, i) => t - times[i]!);
    expect(pauses.map(Math.floor)).toEqual([20, 30, 45, 67, 101]);
  });

  it('grows the pause to its cap, not beyond', async () => {
    const times: number[] = [];
    let n = 0;
    const p = pollUntilReady(context(new AbortController().signal), async () => {
      times.push(Date.now());
      return ++n < 12 ? notYet('no') : READY;
    });
    await vi.runAllTimersAsync();
    await p;
    expect(Math.max(...times.slice(1).map((t, i) => t - times[i]!))).toBe(250);
  });

  it('stops with the abort reason in the middle of a hung attempt, and says it was still running', async () => {
    const seen: string[] = [];
    const c = new AbortController();
    setTimeout(() => c.abort('deadline'), 1100);
    let n = 0;
    const p = pollUntilReady(context(c.signal, seen), () => (++n === 1 ? Promise.resolve(notYet('status 503')) : new Promise(() => {})));
    const rejected = expect(p).rejects.toBe('deadline');
    await vi.advanceTimersByTimeAsync(1100);
    await rejected;
    // the hung attempt began after the first one's 20 ms pause
    expect(seen.at(-1)).toBe('status 503; then an attempt was still running after 1.1 s');
  });

  it('says nothing of an attempt the deadline cut short when it had not been slow', async () => {
    const seen: string[] = [];
    const c = new AbortController();
    setTimeout(() => c.abort('deadline'), 500);
    let n = 0;
    const p = pollUntilReady(context(c.signal, seen), () => (++n === 1 ? Promise.resolve(notYet('status 503')) : new Promise(() => {})));
    const rejected = expect(p).rejects.toBe('deadline');
    await vi.advanceTimersByTimeAsync(500);
    await rejected;
    expect(seen).toEqual(['status 503']);
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

// real timers and a real log file: the pause is cut short by inotify, which fake timers do not drive
describe('pollUntilReady with onOutput', () => {
  it('tries again as soon as the container writes a line, not after the pause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mayfly-poll-'));
    try {
      writeFileSync(join(dir, 'log.jsonl'), '');
      const target = Object.assign(new FakeWaitTarget(), { dir });
      const ac = new AbortController();
      let ready = false;
      let attempts = 0;
      const p = pollUntilReady({ target, exposedPorts: [], signal: ac.signal, since: Date.now(), saw: () => {} }, async () => (++attempts, ready ? READY : notYet('not yet')), {
        // a pause far longer than the test's own timeout: only the line can end it
        firstMs: 600_000,
        growth: 1,
        onOutput: true,
      });
      await vi.waitFor(() => expect(attempts).toBe(1));
      ready = true;
      appendFileSync(join(dir, 'log.jsonl'), '{"line":"ready"}\n');
      await p;
      expect(attempts).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a log to watch, keeps its pauses and still ends when aborted', async () => {
    const ac = new AbortController();
    const p = pollUntilReady({ target: new FakeWaitTarget(), exposedPorts: [], signal: ac.signal, since: Date.now(), saw: () => {} }, async () => notYet('no'), { firstMs: 600_000, growth: 1, onOutput: true });
    ac.abort(new Error('stopped'));
    await expect(p).rejects.toThrow('stopped');
  });
});
