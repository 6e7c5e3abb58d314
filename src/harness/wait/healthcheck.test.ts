import { describe, expect, it, vi } from 'vitest';
import { rejection, settleOnFakeClock } from '../../../test/support/fake-clock.js';
import { isMayflyError } from '../../core/errors.js';
import { FakeWaitTarget } from './fake-target.js';
import { healthcheckFromImageConfig, Wait, waitUntilReady, type Healthcheck } from './index.js';

const MS = 1_000_000; // healthcheck durations are in nanoseconds

describe('Wait.forHealthcheck', () => {
  it('runs CMD-SHELL with /bin/sh -c and CMD as an argv', async () => {
    const t = new FakeWaitTarget();
    await waitUntilReady(t, Wait.forHealthcheck(), { healthcheck: { test: ['CMD-SHELL', 'pg_isready -U postgres'] } });
    await waitUntilReady(t, Wait.forHealthcheck({ test: ['CMD', 'curl', '-f', 'http://localhost/'] }));
    expect(t.execs).toEqual([['/bin/sh', '-c', 'pg_isready -U postgres'], ['curl', '-f', 'http://localhost/']]);
  });

  it('describes the check it runs', () => {
    const t = new FakeWaitTarget();
    expect(Wait.forHealthcheck().describe({ target: t, exposedPorts: [], healthcheck: { test: ['CMD-SHELL', 'pg_isready'] } })).toBe(
      "the image's HEALTHCHECK CMD-SHELL `pg_isready` passing",
    );
    expect(Wait.forHealthcheck({ test: ['CMD', 'redis-cli', 'ping'] }).describe()).toBe('healthcheck CMD `redis-cli ping` passing');
  });

  it('waits through failures until it passes', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => (t.execs.length < 3 ? { exitCode: 1, stdout: 'not yet\n', stderr: '' } : { exitCode: 0, stdout: '', stderr: '' });
    await waitUntilReady(t, Wait.forHealthcheck({ test: ['CMD-SHELL', 'check'], interval: 10 * MS, retries: 5 }), { timeoutMs: 1000 });
    expect(t.execs.length).toBe(3);
  });

  it('is unhealthy, as Docker would say, after `retries` failures spanning `retries` intervals — with the log', async () => {
    const t = new FakeWaitTarget();
    t.print('ERROR: cannot open data directory', 'stderr');
    t.onExec = () => ({ exitCode: 1, stdout: '', stderr: 'connection refused\n' });
    // on Vitest's clock, so that the span is the code's own and a loaded machine cannot stretch it
    vi.useFakeTimers();
    const s = await settleOnFakeClock(waitUntilReady(t, Wait.forHealthcheck({ test: ['CMD-SHELL', 'check'], interval: 100 * MS, retries: 2 }), { timeoutMs: 5000 })).finally(() => vi.useRealTimers());
    const e = rejection(s);
    expect(isMayflyError(e, 'CONTAINER_UNHEALTHY')).toBe(true);
    // the verdict at the first poll once two intervals have passed (the poll's pause is at most
    // 250 ms): not earlier, and not at the 5 s deadline
    expect(s.ms).toBeGreaterThanOrEqual(200);
    expect(s.ms).toBeLessThan(200 + 250);
    expect((e as Error).message).toMatch(/^fake-1 is unhealthy: healthcheck CMD-SHELL `check` failed \d+ times in a row over .* \(retries 2, interval 100 ms\); the last run: exit 1: connection refused/);
    expect((e as Error).message).toContain('[stderr] ERROR: cannot open data directory');
  });

  it('failures in the start period do not count', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => ({ exitCode: 1, stdout: '', stderr: 'starting\n' });
    const e = await waitUntilReady(t, Wait.forHealthcheck({ test: ['CMD-SHELL', 'check'], interval: 1 * MS, retries: 1, startPeriod: 10_000 * MS }), { timeoutMs: 150 }).catch((x: Error) => x);
    expect((e as { code?: string }).code).toBe('WAIT_TIMEOUT');
    expect((e as Error).message).toContain('last attempt: exit 1: starting (in the start period)');
  });

  it('bounds each run by the healthcheck timeout', async () => {
    const t = new FakeWaitTarget();
    t.onExec = () => (t.execs.length === 1 ? new Promise(() => {}) : { exitCode: 0, stdout: '', stderr: '' });
    await waitUntilReady(t, Wait.forHealthcheck({ test: ['CMD', 'check'], timeout: 50 * MS }), { timeoutMs: 1000 });
    expect(t.execs.length).toBe(2);
  });

  it('with no healthcheck, or HEALTHCHECK NONE, says so at once', async () => {
    const none = await waitUntilReady(new FakeWaitTarget(), Wait.forHealthcheck(), { healthcheck: { test: ['NONE'] } }).catch((x: Error) => x);
    expect((none as Error).message).toContain('Wait.forHealthcheck(): the image of fake-1 has HEALTHCHECK NONE');
    const missing = await waitUntilReady(new FakeWaitTarget(), Wait.forHealthCheck()).catch((x: Error) => x);
    expect((missing as Error).message).toContain('has no HEALTHCHECK\n  hint: give one');
  });

  it('checks the healthcheck it is given', () => {
    expect(() => Wait.forHealthcheck({ test: ['CMD'] })).toThrow('Wait.forHealthcheck: healthcheck.test must be ["CMD", program, ...args], ["CMD-SHELL", "command"] or ["NONE"], got ["CMD"]');
    expect(() => Wait.forHealthcheck({ test: ['curl', 'x'] })).toThrow('healthcheck.test must be');
    expect(() => Wait.forHealthcheck({ test: ['CMD', 'x'], interval: -1 })).toThrow('healthcheck.interval must be a duration in nanoseconds');
    expect(() => Wait.forHealthcheck({ test: ['CMD', 'x'], retries: 1.5 })).toThrow('healthcheck.retries must be a whole number');
    expect(() => Wait.forHealthcheck({} as Healthcheck)).toThrow('healthcheck must be { test: string[]');
  });

  it('reads the image config form', () => {
    expect(healthcheckFromImageConfig({ Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 0 })).toEqual({ test: ['CMD-SHELL', 'true'], interval: 5e9 });
    expect(healthcheckFromImageConfig({ Test: [] })).toBeUndefined();
    expect(healthcheckFromImageConfig(undefined)).toBeUndefined();
  });
});
