import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { container, Wait } from '../../src/harness/index.js';
import type { StartedContainer } from '../../src/harness/index.js';
import { usePresetImages } from '../support/preset-images.js';

// The look-alike of testcontainers-node's HTTP test image (presets/images/testcontainer, its
// contract in README.md there), by the name their suite uses, pulled through this run's docker.io
// mirror and exercised route by route over the published ports.
const IMAGE = 'cristianrgreco/testcontainer:1.1.14';
usePresetImages();

/** GET over HTTPS, trusting the image's self-signed certificate (fetch has no per-call switch for that). */
function httpsGet(url: string): Promise<{ status: number; body: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), cert }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function output(c: StartedContainer): Promise<string> {
  return (await c.logs()).map((l) => l.line).join('\n');
}

describe(`the look-alike of ${IMAGE}`, () => {
  it('answers every route on 8080, and on 8443 with a self-signed certificate for localhost; logs both ports', async () => {
    const c = await container(IMAGE)
      .withEnvironment({ customKey: 'customValue' })
      .withExposedPorts(8080, 8443)
      .withWaitStrategy(Wait.forLogMessage('Listening on secure port 8443'))
      .start();
    try {
      const get = (path: string, init?: RequestInit) => fetch(c.url(8080, path), init);
      const hello = await get('/hello-world');
      expect(hello.status).toBe(200);
      expect(hello.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await hello.text()).toBe('hello-world');
      expect((await get('/hello-world', { method: 'HEAD' })).status).toBe(200);
      expect(await (await get('/Hello-World/?x=1')).text()).toBe('hello-world'); // as Express matches paths
      const post = await get('/hello-world-post', { method: 'POST', body: 'x' });
      expect([post.status, await post.text()]).toEqual([200, 'hello-world']);
      expect((await get('/hello-world-post')).status).toBe(404);
      expect((await get('/unknown-path')).status).toBe(404);

      const env = (await (await get('/env')).json()) as Record<string, string>;
      expect(env.customKey).toBe('customValue');
      expect(await (await get('/cmd')).json()).toEqual(['/usr/local/bin/node', '/index.js']);

      const basic = (credentials: string) => ({ headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } });
      expect((await get('/auth', basic('user:pass'))).status).toBe(200);
      expect((await get('/auth', basic('user:wrong'))).status).toBe(401);
      expect((await get('/auth')).status).toBe(401);

      expect((await get('/header-or-400/custom', { headers: { custom: 'value' } })).status).toBe(200);
      expect((await get('/header-or-400/X-Custom', { headers: { 'x-custom': 'value' } })).status).toBe(200);
      expect((await get('/header-or-400/custom')).status).toBe(400);

      const t0 = performance.now();
      const delayed = await get('/hello-world-delay');
      expect(await delayed.text()).toBe('hello-world');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(2900); // the contract: after 3 s

      const secure = await httpsGet(`https://127.0.0.1:${c.port(8443)}/hello-world`);
      expect([secure.status, secure.body]).toEqual([200, 'hello-world']);
      expect(secure.cert.subject.CN).toBe('localhost');
      await expect(fetch(`https://127.0.0.1:${c.port(8443)}/hello-world`)).rejects.toThrow(); // not trusted by default

      expect(await output(c)).toContain('Listening on port 8080');
    } finally {
      await c.remove();
    }
  }, 60_000);

  it('runs as the node user with extra arguments; curl and getpcaps inside; dumb-init as PID 1 passes SIGTERM on', async () => {
    const c = await container(IMAGE)
      .withUser('node')
      .withCommand(['node', 'index.js', 'one', 'two', 'three'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/hello-world', 8080))
      .start();
    try {
      expect(await (await fetch(c.url(8080, '/cmd'))).json()).toEqual(['/usr/local/bin/node', '/index.js', 'one', 'two', 'three']);
      expect((await c.exec(['whoami'])).stdout).toBe('node\n');
      expect((await c.exec(['curl', '-fsS', 'http://localhost:8080/hello-world'])).stdout).toBe('hello-world');
      expect((await c.exec(['sh', '-c', 'getpcaps 1 >/dev/null 2>&1 && cat /proc/1/comm'])).stdout).toBe('dumb-init\n');
      expect((await c.stop()).exitCode).toBe(143); // the server has no SIGTERM handler: it ends by the signal
    } finally {
      await c.remove();
    }
  }, 60_000);
});
