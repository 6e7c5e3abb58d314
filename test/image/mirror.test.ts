import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX } from '../support/runtime.js';

// How CI (and this project's own tests) reach "Docker Hub" offline: a mirror for docker.io.
let registry: StartedRegistry;
beforeAll(async () => {
  registry = await startRegistry('plain');
  await pushImage(registry.url, 'library/mirrored-busybox', '1.0', [await tarOfDir(BUSYBOX)], { Cmd: ['echo', 'served by the mirror'] });
});
afterAll(() => registry?.stop());

/** A runtime whose sandbox reads this mirror setting at its start (and, given, its own MAYFLY_HOME). */
async function runtimeWithMirror(mirror: string, home?: string): Promise<Runtime> {
  const before = process.env.MAYFLY_REGISTRY_MIRRORS;
  process.env.MAYFLY_REGISTRY_MIRRORS = `docker.io=${mirror}`;
  try {
    return await Runtime.start({ onWarning: () => {}, ...(home ? { home } : {}) });
  } finally {
    if (before === undefined) delete process.env.MAYFLY_REGISTRY_MIRRORS;
    else process.env.MAYFLY_REGISTRY_MIRRORS = before;
  }
}

describe('registry mirrors', () => {
  it('a short Docker Hub name is pulled from the configured mirror', async () => {
    const rt = await runtimeWithMirror(registry.host);
    try {
      const rec = await rt.pull('mirrored-busybox:1.0');
      expect(rec.names).toEqual(['docker.io/library/mirrored-busybox:1.0']);
      expect(rec.source).toBe(`${registry.host}/library/mirrored-busybox`);
      const c = await rt.create({ image: 'mirrored-busybox:1.0', pull: 'never' });
      const out: string[] = [];
      await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
      await c.wait();
      await c.remove();
      expect(out.join('')).toBe('served by the mirror\n');
    } finally {
      await rt.close();
    }
  });
});

/** Forwards every request to `target` and records what was asked of it. */
async function countingRelay(target: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

// Sharded CI: each runner has its own MAYFLY_HOME, and all of them name one Docker Distribution
// in proxy mode as their Docker Hub mirror. Only the first runner's pull reaches upstream.
describe('a pull-through cache shared by runners', () => {
  it('two MAYFLY_HOMEs pull the same image through the cache; the second costs upstream no blob', async () => {
    const files = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'shared-app-'));
    mkdirSync(join(files, 'app'));
    writeFileSync(join(files, 'app', 'greeting'), 'hello from upstream\n');
    await pushImage(registry.url, 'library/shared-app', '1', [await tarOfDir(BUSYBOX), await tarOfDir(files)], { Cmd: ['cat', '/app/greeting'] });
    const upstream = await countingRelay(registry.url);
    const cache = await startRegistry('plain', { proxyOf: upstream.url });
    const cacheFront = await countingRelay(cache.url); // what the runners ask of the cache
    const homes = [mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'runner-a-')), mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'runner-b-'))];
    const blobGets = (requests: string[]) => requests.filter((r) => /^GET \/v2\/library\/shared-app\/blobs\/sha256:/.test(r));
    try {
      const ids: string[] = [];
      const upstreamAfter: number[] = [];
      for (const home of homes) {
        const asked = cacheFront.requests.length;
        const rt = await runtimeWithMirror(new URL(cacheFront.url).host, home);
        try {
          const rec = await rt.pull('shared-app:1');
          ids.push(rec.id);
          // each runner fetches a config and two layers, each once
          const gets = blobGets(cacheFront.requests.slice(asked));
          expect(gets).toHaveLength(3);
          expect(new Set(gets).size).toBe(3);
          const c = await rt.create({ image: 'shared-app:1', pull: 'never' });
          const out: string[] = [];
          await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
          await c.wait();
          await c.remove();
          expect(out.join('')).toBe('hello from upstream\n');
          // the runner's store is its own: layers hold subordinate ids, which only its sandbox may delete
          await rt.rmi(rec.id, { force: true });
          await rt.prune();
        } finally {
          await rt.close();
        }
        upstreamAfter.push(blobGets(upstream.requests).length);
      }
      expect(ids[1]).toBe(ids[0]);
      // the first fill reaches upstream for every blob (Distribution 2.8 fetches a blob it does not hold
      // twice: once for the client, once for its own store); the second runner costs upstream nothing
      expect(new Set(blobGets(upstream.requests)).size).toBe(3);
      expect(upstreamAfter[1]).toBe(upstreamAfter[0]);
    } finally {
      await cacheFront.close();
      await cache.stop();
      await upstream.close();
      for (const dir of [...homes, files]) rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
