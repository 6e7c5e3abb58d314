import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady } from './index.js';

const servers: Server[] = [];

afterEach(async () => {
  // an aborted request's socket may idle in fetch's pool for seconds; close() would wait for it
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r).closeAllConnections())));
});

/** A local server standing in for a container's published port 80. */
async function serve(handle: (n: number, res: ServerResponse, req: IncomingMessage) => void): Promise<FakeWaitTarget> {
  let n = 0;
  const server = createServer((req, res) => handle(++n, res, req));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const t = new FakeWaitTarget();
  t.published.set(80, (server.address() as { port: number }).port);
  return t;
}

/** A host port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('Wait.forHttp', () => {
  it('waits through 503s for a 2xx', async () => {
    const t = await serve((n, res) => res.writeHead(n < 3 ? 503 : 204).end());
    await waitUntilReady(t, Wait.forHttp('/health', 80), { timeoutMs: 1500 });
  });

  it('describes the real URL, and reports the status and the start of the body', async () => {
    const t = await serve((_, res) => res.writeHead(503).end('upstream not ready: warming caches\n<html>...'));
    const strategy = Wait.forHttp('health', 80, { status: 200 });
    const url = `http://127.0.0.1:${t.port(80)}/health`;
    expect(strategy.describe({ target: t, exposedPorts: [] })).toBe(`HTTP GET ${url} (container port 80) → 200`);
    expect(strategy.describe()).toBe('HTTP GET container port 80 /health → 200');
    const e = await waitUntilReady(t, strategy, { timeoutMs: 600 }).catch((x: Error) => x);
    expect((e as Error).message).toContain(`waited for HTTP GET ${url} (container port 80) → 200`);
    expect((e as Error).message).toContain('last attempt: status 503: "upstream not ready: warming caches"');
  });

  it('matches the body, with method and headers', async () => {
    const requests: string[] = [];
    const t = await serve((n, res, req) => {
      requests.push(`${req.method} ${req.headers['x-probe']}`);
      res.end(n < 2 ? 'starting' : '{"status":"UP"}');
    });
    await waitUntilReady(t, Wait.forHttp('/actuator/health', 80, { body: /"status":"UP"/g, method: 'post', headers: { 'x-probe': 'mayfly' } }), { timeoutMs: 1500 });
    expect(requests).toEqual(['POST mayfly', 'POST mayfly']);
    await waitUntilReady(t, Wait.forHttp('/', 80, { body: '"UP"', status: (s) => s < 500 }), { timeoutMs: 1500 });
    const wrong = await waitUntilReady(t, Wait.forHttp('/', 80, { body: 'DOWN' }), { timeoutMs: 400 }).catch((x: Error) => x);
    expect((wrong as Error).message).toContain('last attempt: status 200, but the body does not match: "{\\"status\\":\\"UP\\"}"');
  });

  it('reports a refused connection', async () => {
    const t = new FakeWaitTarget();
    t.published.set(80, await closedPort());
    const e = await waitUntilReady(t, Wait.forHttp('/', 80), { timeoutMs: 500 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('last attempt: connection refused');
  });

  it('a reset connection (the host side of a published port, nothing inside) says what listens inside instead', async () => {
    const dropper = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    try {
      const t = new FakeWaitTarget();
      t.published.set(80, (dropper.address() as { port: number }).port);
      t.listeningPorts = [8080];
      const e = await waitUntilReady(t, Wait.forHttp('/', 80), { timeoutMs: 500 }).catch((x: Error) => x);
      expect((e as Error).message).toContain('last attempt: connection reset before an answer: port 80 does not listen inside the container; 8080 does');
      expect((e as Error).message).toContain('hint: is 8080 the port of the service?');
    } finally {
      await new Promise((r) => dropper.close(r));
    }
  });

  it('bounds each request, so a server that never answers costs one attempt', async () => {
    let requests = 0;
    const t = await serve((n, res) => {
      requests = n;
      if (n > 1) res.end('ok'); // the first request hangs
    });
    // an unbounded first request would hang until this deadline and the wait fail with WAIT_TIMEOUT;
    // 200 times the request timeout, so that no load on the machine can reach it
    await waitUntilReady(t, Wait.forHttp('/', 80, { requestTimeoutMs: 100 }), { timeoutMs: 20_000 });
    expect(requests).toBe(2);
    const hung = await serve(() => {});
    const e = await waitUntilReady(hung, Wait.forHttp('/', 80, { requestTimeoutMs: 50 }), { timeoutMs: 400 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('last attempt: no response within 50 ms');
  });

  it('a port that is not published fails at once', async () => {
    const e = await waitUntilReady(new FakeWaitTarget(), Wait.forHttp('/', 8080), { timeoutMs: 5000 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('container port 8080 of fake-1 is not published');
  });

  it('checks its arguments', () => {
    expect(() => Wait.forHttp('http://localhost/health', 80)).toThrow('Wait.forHttp: path must be a path on the container\'s port, like "/health", not a URL');
    expect(() => Wait.forHttp('/', 0)).toThrow('Wait.forHttp: port must be a port number from 1 to 65535, got 0');
    expect(() => Wait.forHttp('/', 80, { status: 42 })).toThrow('Wait.forHttp: options.status must be an HTTP status from 100 to 599');
    expect(() => Wait.forHttp('/', 80, { method: 'GET /' })).toThrow('options.method must be an HTTP method');
    expect(() => Wait.forHttp('/', 80, { headers: { a: 1 as unknown as string } })).toThrow('options.headers');
    expect(() => Wait.forHttp('/', 80, { requestTimeoutMs: 0 })).toThrow('options.requestTimeoutMs');
  });

  it('accepts a body test function', async () => {
    const t = await serve((n, res) => res.end(JSON.stringify({ ready: n >= 3 })));
    await waitUntilReady(t, Wait.forHttp('/', 80, { body: (b) => JSON.parse(b).ready === true }), { timeoutMs: 1500 });
    expect(Wait.forHttp('/', 80, { body: () => true }).describe()).toBe('HTTP GET container port 80 / → 2xx with a body options.body accepts');
  });

  it('speaks TLS; a self-signed certificate passes only when told to accept it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mayfly-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secure'));
      servers.push(server as unknown as Server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const t = new FakeWaitTarget();
      t.published.set(443, (server.address() as { port: number }).port);
      await waitUntilReady(t, Wait.forHttp('/', 443, { tls: true, insecure: true, body: 'secure' }), { timeoutMs: 1500 });
      const strict = Wait.forHttp('/', 443, { tls: true });
      expect(strict.describe({ target: t, exposedPorts: [] })).toMatch(/^HTTPS GET https:\/\/127\.0\.0\.1:\d+\/ \(container port 443\) → 2xx$/);
      const e = await waitUntilReady(t, strict, { timeoutMs: 500 }).catch((x: Error) => x);
      expect((e as Error).message).toMatch(/last attempt: TLS: \S*(SELF_SIGNED|CERT)/);
      expect((e as Error).message).toContain('options.insecure');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
