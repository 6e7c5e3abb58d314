/**
 * The API server's own rules, on a real Unix socket with routes of the test's: version prefixes,
 * routing, bodies and their limits, errors in Docker's shape, unsupported endpoints, hijacked
 * connections with a body before the stream — and that no handler's failure ends the server.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MayflyError } from '../core/errors.js';
import { parseDuration, parseFilterLine } from './ryuk.js';
import { ApiServer } from './server.js';
import type { ApiContext, Route } from './route.js';

const dir = mkdtempSync(join(tmpdir(), 'mayfly-api-server-'));
const socketPath = join(dir, 'api', 'docker.sock');
const logged: string[] = [];

const routes: Route[] = [
  { method: 'GET', path: '/things/:id/json', handle: (call) => ({ id: call.params.id, version: call.version, all: call.flag('all'), filters: call.filters() }) },
  { method: 'GET', path: '/images/*name/json', handle: (call) => ({ name: call.params.name }) },
  { method: 'POST', path: '/things/create', handle: async (call) => call.reply(201, await call.json(z.object({ Name: z.string() }))) },
  { method: 'POST', path: '/things/:id/fail', handle: () => { throw new MayflyError('CONTAINER_STATE', 'it is not running', { hint: 'start it' }); } },
  { method: 'POST', path: '/things/:id/crash', handle: () => { throw new TypeError('a bug'); } },
  {
    method: 'POST',
    path: '/things/:id/echo',
    handle: async (call) => {
      const { Prefix } = await call.json(z.object({ Prefix: z.string() }));
      const conn = call.hijack();
      conn.input?.on('data', (d: Buffer) => conn.write(`${Prefix}${d.toString()}`));
      conn.input?.once('end', () => conn.end());
      return undefined;
    },
  },
];

let server: ApiServer;
beforeAll(async () => {
  server = new ApiServer({} as ApiContext, routes, { log: (l) => logged.push(l) });
  await server.listen(socketPath);
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent: false, method, path, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)), 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    // a body refused early (413) meets a closed connection: the answer is what counts
    req.on('error', reject);
    req.on('socket', (s) => s.on('error', () => {}));
    req.end(body);
  });
}

describe('ApiServer', () => {
  it('listens in a directory only its owner enters', () => {
    expect(statSync(join(dir, 'api')).mode & 0o777).toBe(0o700);
  });

  it('strips the version prefix, accepts 1.24 to 1.47, refuses others in Docker\'s words', async () => {
    expect(JSON.parse((await call('GET', '/v1.41/things/abc/json?all=1')).body)).toEqual({ id: 'abc', version: '1.41', all: true, filters: {} });
    expect(JSON.parse((await call('GET', '/things/abc/json')).body).version).toBe('1.44');
    const old = await call('GET', '/v1.23/things/abc/json');
    expect([old.status, JSON.parse(old.body).message]).toEqual([400, expect.stringContaining('client version 1.23 is too old')]);
    expect((await call('GET', '/v1.48/things/abc/json')).status).toBe(400);
    expect((await call('GET', '/v1.47/things/abc/json')).headers['api-version']).toBe('1.44');
  });

  it('matches slashes in *params, decodes them, reads both forms of filters', async () => {
    expect(JSON.parse((await call('GET', '/images/registry.local%3A5000/team/app:1/json')).body)).toEqual({ name: 'registry.local:5000/team/app:1' });
    const f = encodeURIComponent(JSON.stringify({ label: { 'a=b': true, c: false }, status: ['running'] }));
    expect(JSON.parse((await call('GET', `/things/x/json?filters=${f}`)).body).filters).toEqual({ label: ['a=b'], status: ['running'] });
    expect((await call('GET', '/things/x/json?filters=[1')).status).toBe(400);
  });

  it('answers HEAD with the GET route, and 501 naming an unknown endpoint, logged once', async () => {
    expect((await call('HEAD', '/things/abc/json')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', `/v1.44/swarm/join`, '{}');
      expect([r.status, JSON.parse(r.body).message]).toEqual([501, 'mayfly does not implement POST /swarm/join of the Docker Engine API']);
    }
    expect(logged.filter((l) => l.includes('/swarm/join'))).toEqual(['unsupported endpoint: POST /swarm/join']);
  });

  it('reads bodies: unknown fields ignored, malformed 400, a missing field named, too large 413', async () => {
    const ok = await call('POST', '/things/create', JSON.stringify({ Name: 'n', Extra: [1, 2] }));
    expect([ok.status, JSON.parse(ok.body)]).toEqual([201, { Name: 'n' }]);
    const malformed = await call('POST', '/things/create', '{"Name":');
    expect([malformed.status, JSON.parse(malformed.body).message]).toEqual([400, expect.stringContaining('not valid JSON')]);
    const missing = await call('POST', '/things/create', '{}');
    expect([missing.status, JSON.parse(missing.body).message]).toEqual([400, expect.stringContaining('Name')]);
    expect((await call('POST', '/things/create', JSON.stringify({ Name: 'x'.repeat(5 * 1024 * 1024) }))).status).toBe(413);
  });

  it('maps errors to Docker statuses, and survives a handler\'s bug', async () => {
    const refused = await call('POST', '/things/a/fail');
    expect([refused.status, JSON.parse(refused.body)]).toEqual([409, { message: 'it is not running (start it)' }]);
    const crashed = await call('POST', '/things/a/crash');
    expect([crashed.status, JSON.parse(crashed.body)]).toEqual([500, { message: 'a bug' }]);
    expect((await call('GET', '/things/still/json')).status).toBe(200);
  });

  it('hijacks an upgraded connection: the body first, then the raw stream both ways', async () => {
    const body = JSON.stringify({ Prefix: '> ' });
    const sock = connect(socketPath);
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    // the request, its body and the first bytes of the stream in one write, as clients may send them
    sock.write(`POST /v1.44/things/a/echo HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}hello`);
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    await expect.poll(() => got).toContain('> hello');
    sock.end();
    await new Promise((r) => sock.once('close', r));
    expect(got).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\n/);
    expect(got).toContain('Content-Type: application/vnd.docker.raw-stream');
  });
});

describe('Ryuk line protocol', () => {
  it('reads filter lines and Go durations', () => {
    expect(parseFilterLine('label=org.testcontainers.session-id=abc&label=x')).toEqual(['org.testcontainers.session-id=abc', 'x']);
    expect(parseFilterLine('label=com.docker.compose.project%3Dp1')).toEqual(['com.docker.compose.project=p1']);
    expect(parseFilterLine('garbage')).toBeUndefined();
    expect([parseDuration('10s', 0), parseDuration('1m30s', 0), parseDuration('500ms', 0), parseDuration('2', 0), parseDuration('soon', 7)]).toEqual([10_000, 90_000, 500, 2000, 7]);
  });
});
