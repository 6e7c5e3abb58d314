import { describe, expect, it } from 'vitest';
import { Wait, waitUntilReady, type WaitStrategy } from '../../src/harness/wait/index.js';
import type { Container, ContainerOptions } from '../../src/engine/runtime.js';
import { BUSYBOX, caught, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();

/** A busybox container running `script`, removed after `use`. */
async function withContainer(script: string, extra: Partial<ContainerOptions>, use: (c: Container) => Promise<void>): Promise<void> {
  const c = await runtime().run({ layers: [BUSYBOX], command: ['sh', '-c', script], ...extra });
  try {
    await use(c);
  } finally {
    await c.remove({ force: true });
  }
}

const web = (delay: string) => `sleep ${delay}; mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www`;

describe('wait strategies on real containers', () => {
  it('HTTP: waits for a server that starts listening a second late, not for the host forwarder', async () => {
    await withContainer(web('1'), { ports: [{ containerPort: 80 }] }, async (c) => {
      const start = Date.now();
      await waitUntilReady(c, Wait.forAll([Wait.forHttp('/', 80, { status: 200, body: 'hello' }), Wait.forListeningPorts(80)]), { timeoutMs: 20_000 });
      expect(Date.now() - start).toBeGreaterThanOrEqual(900);
      expect(await (await fetch(c.url(80))).text()).toBe('hello\n');
    });
  });

  it('listening ports: asks the container, and says what listens instead', async () => {
    await withContainer('sleep 0.5; exec nc -ll -p 7000 -e cat', { ports: [{ containerPort: 7000 }] }, async (c) => {
      await waitUntilReady(c, Wait.forListeningPorts(), { exposedPorts: [7000], timeoutMs: 20_000 });
      expect(await c.listening()).toContain(7000);
      const e = await caught(waitUntilReady(c, Wait.forListeningPorts(7001), { timeoutMs: 500 }));
      expect(e.code).toBe('WAIT_TIMEOUT');
      expect(e.message).toContain('last attempt: port 7001 not listening; listening: 7000');
    });
  });

  it('a log message printed twice', async () => {
    const script = 'echo "ready to accept connections"; sleep 0.3; echo "restarting"; echo "ready to accept connections" >&2; exec sleep 100';
    await withContainer(script, {}, async (c) => {
      await waitUntilReady(c, Wait.forLogMessage(/ready to accept/, 2), { timeoutMs: 20_000 });
      expect((await c.logs()).map((l) => l.line)).toEqual(['ready to accept connections', 'restarting', 'ready to accept connections']);
    });
  });

  it('a command that succeeds once the service is up, as a shell line and as an argv', async () => {
    await withContainer('sleep 0.5; touch /tmp/ready; exec sleep 100', {}, async (c) => {
      await waitUntilReady(c, Wait.forSuccessfulCommand('test -f /tmp/ready'), { timeoutMs: 20_000 });
      await waitUntilReady(c, Wait.forSuccessfulCommand(['test', '-f', '/tmp/ready']), { timeoutMs: 5000 });
    });
  });

  it('the image\'s healthcheck, given as options', async () => {
    await withContainer('sleep 0.5; touch /tmp/healthy; exec sleep 100', {}, async (c) => {
      // a start period as a real image has one: failures in it do not make the container unhealthy
      const healthcheck = { test: ['CMD-SHELL', 'test -f /tmp/healthy'], interval: 100_000_000, retries: 3, startPeriod: 10_000_000_000 };
      await waitUntilReady(c, Wait.forHealthcheck(), { healthcheck, timeoutMs: 20_000 });
    });
  });

  it('a timeout says what it waited for, what it saw and what the container printed', async () => {
    const script = 'echo "booting the frobnicator"; echo "no config, idling" >&2; exec sleep 100';
    await withContainer(script, { ports: [{ containerPort: 80 }] }, async (c) => {
      const strategy: WaitStrategy = Wait.forHttp('/health', 80);
      const e = await caught(waitUntilReady(c, strategy, { timeoutMs: 1500 }));
      expect(e.code).toBe('WAIT_TIMEOUT');
      expect(e.message).toContain(`was not ready within 1.5 s: waited for ${strategy.describe({ target: c, exposedPorts: [] })}`);
      expect(e.message).toContain(`HTTP GET http://127.0.0.1:${c.port(80)}/health (container port 80) → 2xx`);
      expect(e.message).toContain('last attempt: connection reset before an answer: nothing listens inside the container yet');
      expect(e.message).toContain('    booting the frobnicator\n    [stderr] no config, idling');
    });
  });

  it('a container that exits at once fails the wait at once, with its exit code and output', async () => {
    await withContainer('echo "fatal: no config file" >&2; exit 3', {}, async (c) => {
      const start = Date.now();
      const e = await caught(waitUntilReady(c, Wait.forLogMessage('ready to accept connections'), { timeoutMs: 30_000 }));
      // an exit noticed only at the deadline would also say CONTAINER_EXITED: well before the 30 s
      // timeout is the claim, not a wall-clock figure a loaded machine can stretch
      expect(Date.now() - start).toBeLessThan(30_000 / 2);
      expect(e.code).toBe('CONTAINER_EXITED');
      expect(e.message).toContain('exited with code 3');
      expect(e.message).toContain('[stderr] fatal: no config file');
      expect(e.details.exitCode).toBe(3);
    });
  });

  it('a container that dies while it is awaited ends the wait when it dies', async () => {
    await withContainer('echo "loading"; sleep 0.5; echo "segfault" >&2; exit 139', {}, async (c) => {
      const start = Date.now();
      const e = await caught(waitUntilReady(c, Wait.forListeningPorts(5432), { timeoutMs: 30_000 }));
      // an exit noticed only at the deadline would also say CONTAINER_EXITED: well before the 30 s
      // timeout is the claim, not a wall-clock figure a loaded machine can stretch
      expect(Date.now() - start).toBeLessThan(30_000 / 2);
      expect(e.code).toBe('CONTAINER_EXITED');
      expect(e.message).toContain('was killed by SIGSEGV (exit code 139)');
      expect(e.message).toContain('last attempt: port 5432 not listening; nothing listens yet');
      expect(e.message).toContain('    loading\n    [stderr] segfault');
    });
  });
});
