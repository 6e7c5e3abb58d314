import { afterEach, describe, expect, it, vi } from 'vitest';
import { rejection, settleOnFakeClock } from '../../../test/support/fake-clock.js';
import { after, FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady } from './index.js';

describe('Wait.forAll', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits for every strategy, side by side', async () => {
    vi.useFakeTimers();
    const t = new FakeWaitTarget();
    t.listeningPorts = [5432];
    // the command passes only once the port check has run while it was out: one after the other,
    // in either order, the command never passes and the wait times out
    let pass: (() => void) | undefined;
    t.onExec = () => new Promise((resolve) => (pass = () => resolve({ exitCode: 0, stdout: '', stderr: '' })));
    const listening = t.listening.bind(t);
    t.listening = () => (pass?.(), listening());
    const s = await settleOnFakeClock(waitUntilReady(t, Wait.forAll([Wait.forSuccessfulCommand('check'), Wait.forListeningPorts(5432)]), { timeoutMs: 1500 }));
    expect(s.result).toEqual({ status: 'fulfilled', value: undefined });
    expect(t.execs.length).toBe(1);
  });

  it('a timeout lists which parts were ready and what the others saw', async () => {
    const t = new FakeWaitTarget();
    t.listeningPorts = [5432];
    const e = await waitUntilReady(t, Wait.forAll([Wait.forListeningPorts(5432), Wait.forLogMessage('ready')]), { timeoutMs: 150 }).catch((x: Error) => x);
    expect((e as Error).message).toContain(
      'waited for all of: port 5432 listening inside the container; a log line containing "ready"\n' +
        '  last attempt:\n' +
        '    ready: port 5432 listening inside the container\n' +
        '    not yet: a log line containing "ready" — no matching line among 0 lines of output\n',
    );
  });

  it('one that can never hold fails the whole at once', async () => {
    vi.useFakeTimers();
    const s = await settleOnFakeClock(waitUntilReady(new FakeWaitTarget(), Wait.forAll([Wait.forLogMessage('ready'), Wait.forHealthcheck()]), { timeoutMs: 5000 }));
    expect((rejection(s) as Error).message).toContain('has no HEALTHCHECK');
    expect(s.ms).toBe(0); // not after the log message's polls, nor at the deadline
  });

  it('checks its arguments', () => {
    expect(() => Wait.forAll([])).toThrow('Wait.forAll: strategies must be a non-empty array of wait strategies');
    expect(() => Wait.forAny([Wait.none(), 'x' as never])).toThrow('Wait.forAny: strategies[1] is not a wait strategy');
  });
});

describe('Wait.forAny', () => {
  it('resolves with the first that holds and stops the others', async () => {
    const t = new FakeWaitTarget();
    after(50, () => t.print('ready'));
    await waitUntilReady(t, Wait.forAny([Wait.forSuccessfulCommand('false'), Wait.forLogMessage('ready')]), { timeoutMs: 1000 });
    t.onExec = () => {
      throw new Error('exec after the wait ended');
    };
    const runs = t.execs.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(t.execs.length).toBe(runs);
  });

  it('leaves one that can never hold to the others, and fails when none can', async () => {
    const t = new FakeWaitTarget();
    after(30, () => t.print('ready'));
    await waitUntilReady(t, Wait.forAny([Wait.forHealthcheck(), Wait.forLogMessage('ready')]), { timeoutMs: 1000 });
    const e = await waitUntilReady(t, Wait.forAny([Wait.forHealthcheck(), Wait.forListeningPorts()]), { timeoutMs: 1000 }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/has no HEALTHCHECK|has no port to wait for/);
  });
});
