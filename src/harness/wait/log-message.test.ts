import { describe, expect, it } from 'vitest';
import { after, FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady } from './index.js';

describe('Wait.forLogMessage', () => {
  it('counts matching lines on stdout and stderr', async () => {
    const t = new FakeWaitTarget();
    t.print('database system is ready to accept connections');
    after(60, () => t.print('database system is ready to accept connections', 'stderr'));
    await waitUntilReady(t, Wait.forLogMessage(/ready to accept connections/g, 2), { timeoutMs: 1000 });
  });

  it('a string matches lines that contain it', async () => {
    const t = new FakeWaitTarget();
    t.print('[info] Server started on :8080');
    await waitUntilReady(t, Wait.forLogMessage('Server started'), { timeoutMs: 1000 });
  });

  it('reports how many matched so far', async () => {
    const t = new FakeWaitTarget();
    t.print('ready');
    t.print('something else');
    const e = await waitUntilReady(t, Wait.forLogMessage('ready', 2), { timeoutMs: 100 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('waited for 2 log lines containing "ready"');
    expect((e as Error).message).toContain('last attempt: 1 of 2 matching lines among 2 lines of output');
  });

  it('describes itself and checks its arguments', () => {
    expect(Wait.forLogMessage(/listening on port \d+/).describe()).toBe('a log line matching /listening on port \\d+/');
    expect(() => Wait.forLogMessage('')).toThrow('Wait.forLogMessage: message must be a RegExp or a non-empty string');
    expect(() => Wait.forLogMessage('x', 0)).toThrow('Wait.forLogMessage: times must be a whole number of at least 1, got 0');
  });
});
