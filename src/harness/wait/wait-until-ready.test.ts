import { afterEach, describe, expect, it, vi } from 'vitest';
import { rejection, settleOnFakeClock } from '../../../test/support/fake-clock.js';
import { isMayflyError, MayflyError } from '../../core/errors.js';
import { after, FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady, type WaitStrategy } from './index.js';

async function failure(p: Promise<unknown>): Promise<MayflyError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isMayflyError(e)) throw new Error(`expected a MayflyError, got ${String(e)}`);
  return e;
}

describe('waitUntilReady', () => {
  // the tests that say how soon a wait ends run on Vitest's clock: a loaded machine cannot stretch it
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves as soon as the strategy holds', async () => {
    vi.useFakeTimers();
    const t = new FakeWaitTarget();
    t.listeningPorts = [5432];
    const s = await settleOnFakeClock(waitUntilReady(t, Wait.forListeningPorts(5432), { timeoutMs: 1000 }));
    expect(s.result.status).toBe('fulfilled');
    expect(s.ms).toBe(0); // the first attempt, before any pause
  });

  it('times out with what it waited for, for how long, what it last saw, the log and a hint', async () => {
    const t = new FakeWaitTarget();
    t.listeningPorts = [8080];
    t.print('starting the frobnicator');
    t.print('config: listening on 8080', 'stderr');
    const e = await failure(waitUntilReady(t, Wait.forListeningPorts(5432), { timeoutMs: 200 }));
    expect(e.code).toBe('WAIT_TIMEOUT');
    expect(e.message).toContain('fake-1 was not ready within 200 ms: waited for port 5432 listening inside the container');
    expect(e.message).toContain('last attempt: port 5432 not listening; listening: 8080');
    expect(e.message).toContain('its output (2 lines):\n    starting the frobnicator\n    [stderr] config: listening on 8080');
    expect(e.hint).toMatch(/listens on 8080/);
    expect(e.details).toMatchObject({ container: 'fake-1', lastSeen: 'port 5432 not listening; listening: 8080' });
    expect((e.details.logs as unknown[]).length).toBe(2);
  });

  it('shows the last 50 log lines, and says when nothing was printed', async () => {
    const t = new FakeWaitTarget();
    for (let i = 1; i <= 120; i++) t.print(`line ${i}`);
    const e = await failure(waitUntilReady(t, Wait.forLogMessage('never'), { timeoutMs: 100 }));
    expect(e.message).toContain('its last 50 log lines:\n    line 71\n');
    expect(e.message).not.toContain('line 70\n');
    const quiet = await failure(waitUntilReady(new FakeWaitTarget(), Wait.forLogMessage('never'), { timeoutMs: 100 }));
    expect(quiet.message).toContain('it printed nothing');
  });

  it('fails at once when the container exits, with its exit code and log, even while an attempt hangs', async () => {
    vi.useFakeTimers();
    const t = new FakeWaitTarget();
    t.onExec = () => new Promise(() => {}); // never answers
    t.print('FATAL: no configuration file', 'stderr');
    after(100, () => t.exit(3));
    const s = await settleOnFakeClock(waitUntilReady(t, Wait.forSuccessfulCommand('pg_isready'), { timeoutMs: 10_000 }));
    // noticed by the next exit check (every 50 ms), not at the 10 s deadline
    expect(s.ms).toBeGreaterThanOrEqual(100);
    expect(s.ms).toBeLessThanOrEqual(150);
    const e = await failure(Promise.reject(rejection(s)));
    expect(e.code).toBe('CONTAINER_EXITED');
    expect(e.message).toMatch(/^fake-1 exited with code 3 after \d+ ms, while waiting for command `pg_isready` exiting 0/);
    expect(e.message).toContain('[stderr] FATAL: no configuration file');
    expect(e.details).toMatchObject({ exitCode: 3, oomKilled: false });
  });

  it('names the signal or the OOM killer that ended it', async () => {
    const killed = new FakeWaitTarget();
    killed.exit(137);
    expect((await failure(waitUntilReady(killed, Wait.forLogMessage('x')))).message).toContain('was killed by SIGKILL (exit code 137)');
    const oom = new FakeWaitTarget();
    oom.exit(137, true);
    const e = await failure(waitUntilReady(oom, Wait.forLogMessage('x')));
    expect(e.message).toContain('was killed by the OOM killer');
    expect(e.hint).toContain('limits.memory');
  });

  it('a container removed without an exit status is reported as removed', async () => {
    const t = new FakeWaitTarget();
    t.status = 'removed';
    const e = await failure(waitUntilReady(t, Wait.forListeningPorts(80)));
    expect(e.code).toBe('CONTAINER_EXITED');
    expect(e.message).toMatch(/^fake-1 was removed after/);
  });

  it('an exit turns even a met condition into a failure: a dead service is not ready', async () => {
    const t = new FakeWaitTarget();
    t.onExec = async () => {
      t.exit(0);
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    expect((await failure(waitUntilReady(t, Wait.forSuccessfulCommand('true')))).code).toBe('CONTAINER_EXITED');
  });

  it('is cancelled by its signal, with the signal\'s reason', async () => {
    vi.useFakeTimers();
    const t = new FakeWaitTarget();
    const c = new AbortController();
    after(50, () => c.abort(new Error('test over')));
    const s = await settleOnFakeClock(waitUntilReady(t, Wait.forLogMessage('never'), { signal: c.signal }));
    expect(rejection(s)).toMatchObject({ message: 'test over' });
    expect(s.ms).toBe(50); // at the abort, not at a poll's next attempt nor at the 60 s default deadline
    await expect(waitUntilReady(t, Wait.forLogMessage('never'), { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('Wait.none() does not wait, not even for the container to stay up', async () => {
    const t = new FakeWaitTarget();
    t.exit(1);
    await waitUntilReady(t, Wait.none());
  });

  it('refuses a container that was never started, a bad timeout and a non-strategy', async () => {
    const t = new FakeWaitTarget();
    t.status = 'created';
    expect((await failure(waitUntilReady(t, Wait.forLogMessage('x')))).code).toBe('CONTAINER_STATE');
    const running = new FakeWaitTarget();
    expect((await failure(waitUntilReady(running, Wait.none(), { timeoutMs: 0 }))).message).toBe(
      'waitUntilReady: options.timeoutMs must be a positive number of milliseconds, got 0',
    );
    expect((await failure(waitUntilReady(running, {} as WaitStrategy))).message).toContain('strategy is not a wait strategy');
  });

  it('a strategy that can never hold fails at once, not at the deadline', async () => {
    vi.useFakeTimers();
    const s = await settleOnFakeClock(waitUntilReady(new FakeWaitTarget(), Wait.forHealthcheck(), { timeoutMs: 10_000 }));
    expect(s.ms).toBe(0);
    const e = await failure(Promise.reject(rejection(s)));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('has no HEALTHCHECK');
  });
});
