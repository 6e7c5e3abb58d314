import { describe, expect, it } from 'vitest';
import { FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady } from './index.js';

describe('Wait.forSuccessfulCommand', () => {
  it('runs a command line with /bin/sh -c until it exits 0', async () => {
    const t = new FakeWaitTarget();
    let runs = 0;
    t.onExec = () => (++runs < 3 ? { exitCode: 1, stdout: '', stderr: 'no response\n' } : { exitCode: 0, stdout: 'accepting connections\n', stderr: '' });
    await waitUntilReady(t, Wait.forSuccessfulCommand('pg_isready -U postgres'), { timeoutMs: 1000 });
    expect(t.execs).toEqual(Array(3).fill(['/bin/sh', '-c', 'pg_isready -U postgres']));
  });

  it('runs an argv as it is, and reports the exit code and first line of output', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => ({ exitCode: 1, stdout: '', stderr: '\nCould not connect to Redis at 127.0.0.1:6379: Connection refused\nmore\n' });
    const e = await waitUntilReady(t, Wait.forSuccessfulCommand(['redis-cli', 'ping']), { timeoutMs: 100 }).catch((x: Error) => x);
    expect(t.execs[0]).toEqual(['redis-cli', 'ping']);
    expect((e as Error).message).toContain('waited for command `redis-cli ping` exiting 0');
    expect((e as Error).message).toContain('last attempt: exit 1: Could not connect to Redis at 127.0.0.1:6379: Connection refused\n');
  });

  it('a hung run counts as one failed attempt and the next one is made', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => (t.execs.length === 1 ? new Promise(() => {}) : { exitCode: 0, stdout: '', stderr: '' });
    await waitUntilReady(t, Wait.forSuccessfulCommand('check', { attemptTimeoutMs: 50 }), { timeoutMs: 1000 });
    expect(t.execs.length).toBe(2);
  });

  it('hints at a missing command', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => ({ exitCode: 127, stdout: '', stderr: 'exec: "pg_isready": executable file not found in $PATH\n' });
    const e = await waitUntilReady(t, Wait.forSuccessfulCommand(['pg_isready']), { timeoutMs: 100 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('exit 127: exec: "pg_isready": executable file not found in $PATH');
    expect((e as Error).message).toContain('hint: the command is not found in the container');
  });

  it('checks its arguments', () => {
    expect(() => Wait.forSuccessfulCommand('  ')).toThrow('Wait.forSuccessfulCommand: command must not be empty');
    expect(() => Wait.forSuccessfulCommand([])).toThrow('Wait.forSuccessfulCommand: command must name a program: the argv is empty');
    expect(() => Wait.forSuccessfulCommand(['ok', 1] as unknown as string[])).toThrow('must be a shell command line or an array of strings');
    expect(() => Wait.forSuccessfulCommand('ok', { attemptTimeoutMs: -1 })).toThrow('options.attemptTimeoutMs must be a positive number');
  });
});
