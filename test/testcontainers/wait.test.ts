/**
 * Testcontainers' wait strategies as its own tests exercise them, against the same HTTP test server
 * (`cristianrgreco/testcontainer:1.1.14`), carried out by mayfly's probing: each ready as soon as
 * its condition holds, each failing with Testcontainers' sentence first (then what mayfly saw), a
 * container that exits failing at once rather than at the timeout.
 */
import { describe, expect, it } from 'vitest';
import type { WaitTarget } from '../../src/harness/wait/index.js';
import { AbstractWaitStrategy, GenericContainer, StartupCheckStrategy, Wait, type BoundPorts, type StartupStatus } from '../../src/testcontainers/index.js';
import { caught } from '../support/runtime.js';
import { busyboxImage, HTTP_PORT, HTTPS_PORT, TC_IMAGE, useTestcontainerImages } from '../support/tc-images.js';

useTestcontainerImages();
const server = () => new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT);
/** the server after `seconds` */
const late = (seconds: number) => server().withCommand(['sh', '-c', `sleep ${seconds}; exec node index.js`]);

describe('Wait.forListeningPorts (the default)', () => {
  it('is ready once the port listens inside, not before', async () => {
    const t0 = Date.now();
    await using c = await late(0.5).start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect((await fetch(`http://${c.getHost()}:${c.getMappedPort(HTTP_PORT)}/hello-world`)).status).toBe(200);
  });

  it('a port nothing listens on times out with Testcontainers\' sentence and what mayfly saw', async () => {
    // long enough for the server to be up on a busy machine: then 9000 alone is missing
    const e = await caught(server().withExposedPorts(9000).withStartupTimeout(3000).start());
    expect(e.code).toBe('WAIT_TIMEOUT');
    expect(e.message).toMatch(/^Port 8080, 9000 not bound after 3000ms: /);
    expect(e.message).toMatch(/port 9000 not listening; listening: .*8080/);
  });
});

describe('Wait.forHttp', () => {
  it('should wait for a 200 (any 2xx by default), or the status code, status predicate and body predicate given', async () => {
    await using a = await server().withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT)).start();
    await using b = await server()
      .withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT).forStatusCode(200).forStatusCodeMatching((s) => s === 200).forResponsePredicate((body) => body === 'hello-world'))
      .start();
    expect(a.getId() && b.getId()).toBeTruthy();
    const notFound = await caught(server().withWaitStrategy(Wait.forHttp('/unknown-path', HTTP_PORT)).withStartupTimeout(2500).start());
    expect(notFound.message).toMatch(/^URL \/unknown-path not accessible after 2500ms: /);
    expect(notFound.message).toContain('status 404');
    const body = await caught(server().withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT).forResponsePredicate((r) => r === 'goodbye')).withStartupTimeout(2500).start());
    expect(body.message).toContain('the body does not match: "hello-world"');
  });

  it('should use the method, headers and basic credentials given', async () => {
    await using post = await server().withWaitStrategy(Wait.forHttp('/hello-world-post', HTTP_PORT).withMethod('POST')).start();
    await using header = await server().withWaitStrategy(Wait.forHttp('/header-or-400/custom', HTTP_PORT).withHeaders({ custom: 'value' })).start();
    await using auth = await server().withWaitStrategy(Wait.forHttp('/auth', HTTP_PORT).withBasicCredentials('user', 'pass')).start();
    expect(post.getId() && header.getId() && auth.getId()).toBeTruthy();
    const denied = await caught(server().withWaitStrategy(Wait.forHttp('/auth', HTTP_PORT).withBasicCredentials('user', 'wrong')).withStartupTimeout(2500).start());
    expect(denied.message).toContain('status 401');
    expect(denied.hint).toContain('credentials');
    const missing = await caught(server().withWaitStrategy(Wait.forHttp('/header-or-400/custom', HTTP_PORT)).withStartupTimeout(2500).start());
    expect(missing.message).toContain('status 400');
  });

  it('should speak TLS; the server\'s self-signed certificate passes with allowInsecure() only', async () => {
    await using c = await new GenericContainer(TC_IMAGE).withExposedPorts(HTTPS_PORT).withWaitStrategy(Wait.forHttp('/hello-world', HTTPS_PORT).usingTls().allowInsecure()).start();
    expect(c.getId()).toBeTruthy();
    const strict = await caught(new GenericContainer(TC_IMAGE).withExposedPorts(HTTPS_PORT).withWaitStrategy(Wait.forHttp('/hello-world', HTTPS_PORT).usingTls()).withStartupTimeout(3000).start());
    expect(strict.message).toMatch(/last attempt: TLS: /);
    expect(strict.hint).toContain('allowInsecure()');
  });

  it('should bound each request by the read timeout', async () => {
    const e = await caught(server().withWaitStrategy(Wait.forHttp('/hello-world-delay', HTTP_PORT).withReadTimeout(300)).withStartupTimeout(4000).start());
    expect(e.message).toContain('no response within 300 ms');
    await using slow = await server().withWaitStrategy(Wait.forHttp('/hello-world-delay', HTTP_PORT).withReadTimeout(5000)).start();
    expect(slow.getId()).toBeTruthy();
  });

  it('waits through a slow start; a container that exits fails at once with its output', async () => {
    await using c = await late(0.4).withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT)).start();
    expect(c.getId()).toBeTruthy();
    const t0 = Date.now();
    const e = await caught(server().withCommand(['sh', '-c', 'echo config missing >&2; exit 3']).withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT)).start());
    expect(e.code).toBe('CONTAINER_EXITED');
    expect(e.message).toContain('config missing');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('Wait.forLogMessage', () => {
  it('should wait for a message, a pattern, a message seen `times`; the timeout names it', async () => {
    await using a = await server().withWaitStrategy(Wait.forLogMessage('Listening on port 8080')).start();
    await using b = await server().withWaitStrategy(Wait.forLogMessage(/Listening on .*port 8443/)).start();
    await using c = await server().withWaitStrategy(Wait.forLogMessage('Listening on', 2)).start();
    expect(a.getId() && b.getId() && c.getId()).toBeTruthy();
    const e = await caught(server().withWaitStrategy(Wait.forLogMessage('Listening on', 3)).withStartupTimeout(4000).start());
    expect(e.message).toMatch(/^Log message "Listening on" not received after 4000ms \(3 times\): /);
    expect(e.message).toContain('2 of 3 matching lines');
  });
});

describe('Wait.forSuccessfulCommand, forHealthCheck, forOneShotStartup', () => {
  it('should wait for a shell command to succeed', async () => {
    await using c = await server().withCommand(['/bin/sh', '-c', 'sleep 0.3; touch /tmp/healthy; node index.js']).withWaitStrategy(Wait.forSuccessfulCommand('stat /tmp/healthy')).start();
    expect((await c.exec(['ls', '/tmp/healthy'])).exitCode).toBe(0);
    const e = await caught(server().withWaitStrategy(Wait.forSuccessfulCommand('stat /tmp/never')).withStartupTimeout(500).start());
    expect(e.message).toMatch(/^Shell command "stat \/tmp\/never" not successful after 500ms: /);
  });

  it('should wait for the healthcheck of withHealthCheck (durations in ms), healthy or unhealthy', async () => {
    await using c = await server()
      .withHealthCheck({ test: ['CMD-SHELL', `curl -f http://localhost:${HTTP_PORT}/hello-world || exit 1`], interval: 100, timeout: 1000, retries: 50 })
      .withWaitStrategy(Wait.forHealthCheck())
      .start();
    expect(c.getId()).toBeTruthy();
    const e = await caught(server().withHealthCheck({ test: ['CMD', 'false'], interval: 100, retries: 2 }).withWaitStrategy(Wait.forHealthCheck()).start());
    expect(e.code).toBe('CONTAINER_UNHEALTHY');
    expect(e.message).toMatch(/^Health check failed: unhealthy: /);
    const none = await caught(server().withWaitStrategy(Wait.forHealthCheck()).start());
    expect(none.message).toContain('no HEALTHCHECK');
  });

  it('a one-shot container is ready when it exits 0, and fails with its output otherwise', async () => {
    await using ok = await new GenericContainer(busyboxImage()).withCommand(['sh', '-c', 'echo migrated']).withWaitStrategy(Wait.forOneShotStartup()).start();
    expect(ok.getId()).toBeTruthy();
    const e = await caught(new GenericContainer(busyboxImage()).withCommand(['sh', '-c', 'echo migration 7 failed; exit 2']).withWaitStrategy(Wait.forOneShotStartup()).start());
    expect(e.code).toBe('CONTAINER_EXITED');
    expect(e.message).toContain('migration 7 failed');
  });
});

describe('Wait.forAll, startup timeouts, strategies of your own', () => {
  it('all hold, side by side; the container\'s timeout goes to strategies without one; withDeadline bounds the whole', async () => {
    const t0 = Date.now();
    await using c = await late(0.4).withWaitStrategy(Wait.forAll([Wait.forListeningPorts(), Wait.forLogMessage('Listening on port 8080'), Wait.forHttp('/hello-world', HTTP_PORT)])).start();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(c.getId()).toBeTruthy();
    const all = Wait.forAll([Wait.forLogMessage('never'), Wait.forListeningPorts().withStartupTimeout(1500)]);
    const e = await caught(server().withWaitStrategy(all).withStartupTimeout(600).start());
    expect(e.code).toBe('WAIT_TIMEOUT');
    expect(all.getStartupTimeout()).toBe(1500);
    const deadline = await caught(server().withWaitStrategy(Wait.forAll([Wait.forLogMessage('never')]).withDeadline(400)).start());
    expect(deadline.message).toMatch(/^Composite wait strategy not successful after 400ms: /);
  });

  it('a subclass of AbstractWaitStrategy is called with the container and its bound ports; a StartupCheckStrategy is asked until it answers', async () => {
    const calls: string[] = [];
    class FileExists extends AbstractWaitStrategy {
      async waitUntilReady(container: WaitTarget, boundPorts: BoundPorts): Promise<void> {
        calls.push(`port ${boundPorts.getBinding(HTTP_PORT) > 0}`);
        for (;;) {
          if ((await container.exec(['test', '-f', '/tmp/ready'])).exitCode === 0) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
    class Exited extends StartupCheckStrategy {
      async checkStartupState(container: WaitTarget): Promise<StartupStatus> {
        return container.status === 'exited' ? 'SUCCESS' : 'PENDING';
      }
    }
    await using c = await server().withCommand(['sh', '-c', 'sleep 0.2; touch /tmp/ready; exec node index.js']).withWaitStrategy(new FileExists()).start();
    expect(calls).toEqual(['port true']);
    expect(c.getId()).toBeTruthy();
    const slow = await caught(new GenericContainer(busyboxImage()).withCommand(['sleep', '60']).withWaitStrategy(new Exited().withStartupTimeout(300)).start());
    expect(slow.message).toMatch(/^Container not accessible after 300ms: /);
  });
});
