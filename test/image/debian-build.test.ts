import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { runToEnd, useRuntime } from '../support/runtime.js';

// The path the presets will take: a Debian base made with mmdebstrap, images built on it with
// mayfly's builder, pushed to a real registry and pulled back into another store.
const { runtime } = useRuntime();
let registry: StartedRegistry;
let proxy: { host: string; requests: number; close(): Promise<void> };

/** A counting HTTP proxy in front of the registry: proves a start from the store makes no request. */
async function countingProxy(target: string): Promise<typeof proxy> {
  const [host, port] = target.split(':');
  const state = { requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  registry = await startRegistry('plain');
  proxy = await countingProxy(registry.host);
  await runtime().importRootfs(process.env.MAYFLY_TEST_DEBIAN!, 'test/debian:bookworm', { Cmd: ['bash'] });
});
afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
});

describe('a Debian-based image: build, push, pull back elsewhere, run', () => {
  it('works end to end, and a start from the store makes no network request', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'deb-ctx-'));
    writeFileSync(join(ctx, 'hello.sh'), '#!/bin/sh\necho "hello from $(id -un) ($(id -u)) on Debian $(cat /etc/debian_version) in $(pwd)"\n', { mode: 0o755 });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      ['FROM test/debian:bookworm', 'RUN useradd --uid 999 --create-home app && install -d -o app -g app /srv/app', 'COPY hello.sh /usr/local/bin/hello', 'USER app', 'WORKDIR /srv/app', 'CMD ["hello"]', ''].join('\n'),
    );
    const name = `${proxy.host}/test/debian-app:1`;
    await runtime().build({ context: ctx, tag: name });
    await runtime().push(name);

    // another machine, as far as the store is concerned
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'other-home-'));
    const before = process.env.MAYFLY_HOME;
    process.env.MAYFLY_HOME = home;
    const other = await Runtime.start({ onWarning: () => {} });
    process.env.MAYFLY_HOME = before;
    try {
      await other.pull(name);
      proxy.requests = 0;
      const { out, exitCode } = await runToEnd(await other.create({ image: name }));
      expect(exitCode).toBe(0);
      expect(out).toMatch(/^hello from app \(999\) on Debian 12\.\d+ in \/srv\/app\n$/);
      expect(proxy.requests).toBe(0);
      for (const image of other.images()) await other.rmi(image.id, { force: true });
      await other.prune();
    } finally {
      await other.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);
});
