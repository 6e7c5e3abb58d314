import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Container } from '../../src/runtime/runtime.js';
import { usePresetImages } from '../support/preset-images.js';
import { until, useRuntime } from '../support/runtime.js';

// The presets' images by their upstream names: Docker Hub is mirrored to the run's registry, where
// the look-alikes built from presets/images are published (test/support/preset-images.ts).
const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
usePresetImages();
const { runtime } = useRuntime(); // a fresh runtime (and store): every image is really pulled

/** Polls `check` until it gives a value, at most `timeoutMs`; the last failure says why it did not. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  let result: T | undefined;
  let last: unknown;
  try {
    await until(async () => {
      try {
        result = await check();
      } catch (e) {
        last = e;
      }
      return result !== undefined;
    }, timeoutMs, what);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last attempt: ${last instanceof Error ? last.message : String(last)}`, { cause: e });
  }
  return result!;
}

async function logText(c: Container): Promise<string> {
  return (await c.logs()).map((l) => l.line).join('\n');
}

describe("the presets' images, pulled through the docker.io mirror", () => {
  it('are in the registry as library/<name> with latest and version tags', async () => {
    for (const name of ['nginx', 'postgres', 'redis']) {
      const res = await fetch(`http://${REGISTRY}/v2/library/${name}/tags/list`);
      const { tags } = (await res.json()) as { tags: string[] };
      expect(tags).toContain('latest');
      expect(tags.some((t) => /^\d+$/.test(t))).toBe(true); // the major version, e.g. postgres:15
    }
  });

  it('nginx serves files from /usr/share/nginx/html on a published port, logging to stdout', async () => {
    const rec = await runtime().pull('nginx');
    expect(rec.names).toContain('docker.io/library/nginx:latest');
    expect(rec.source).toBe(`${REGISTRY}/library/nginx`);

    const site = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'site-'));
    chmodSync(site, 0o755); // nginx's workers run as the nginx user
    writeFileSync(join(site, 'hello.txt'), 'hello from mayfly\n');
    const c = await runtime().run({ image: 'nginx', ports: [{ containerPort: 80 }], binds: [{ source: site, target: '/usr/share/nginx/html', readonly: true }] });
    try {
      const body = await eventually('nginx to serve /hello.txt', async () => {
        const res = await fetch(`http://127.0.0.1:${c.port(80)}/hello.txt`, { signal: AbortSignal.timeout(2000) });
        return res.status === 200 ? res.text() : undefined;
      });
      expect(body).toBe('hello from mayfly\n');
      const missing = await fetch(c.url(80, '/nope'));
      expect(missing.status).toBe(404);
      await missing.body?.cancel();
      await eventually('the access log line', async () => ((await logText(c)).includes('"GET /hello.txt HTTP/1.1" 200') ? true : undefined), 5000);
      expect(await logText(c)).toContain('Configuration complete; ready for start up');
      expect((await c.stop()).exitCode).toBe(0); // SIGQUIT: a graceful shutdown
    } finally {
      await c.remove({ force: true });
      rmSync(site, { recursive: true, force: true });
    }
  }, 120_000);

  it('postgres initialises its database from POSTGRES_* and accepts a password login', async () => {
    const c = await runtime().run({ image: 'postgres:latest', env: { POSTGRES_PASSWORD: 's3cret', POSTGRES_USER: 'mayfly', POSTGRES_DB: 'app' } });
    try {
      const psql = (password: string, sql: string) =>
        c.exec(['psql', '-h', '127.0.0.1', '-U', 'mayfly', '-d', 'app', '-tA', '-c', sql], { env: { PGPASSWORD: password } });
      // TCP is open only once the final server runs (the first-start one listens on the socket alone)
      const first = await eventually('postgres to answer SELECT 1 over TCP', async () => {
        const r = await psql('s3cret', 'SELECT 1');
        return r.exitCode === 0 ? r.stdout : undefined;
      });
      expect(first).toBe('1\n');
      const wrong = await psql('wrong', 'SELECT 1');
      expect(wrong.exitCode).not.toBe(0);
      expect(wrong.stderr).toContain('password authentication failed for user "mayfly"');
      expect((await psql('s3cret', 'SHOW listen_addresses')).stdout).toBe('*\n');
      expect((await psql('s3cret', "SELECT current_user || ' ' || current_database() || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'app'")).stdout).toBe('mayfly app UTF8\n');
      const logs = await logText(c);
      expect(logs).toContain('PostgreSQL init process complete; ready for start up.');
      // once from the first-start server, once from the real one: what upstream's users wait for
      expect(logs.match(/database system is ready to accept connections/g)).toHaveLength(2);
      expect((await c.exec(['stat', '-c', '%U', '/proc/1'])).stdout).toBe('postgres\n');
      expect((await c.stop()).exitCode).toBe(0); // SIGINT: a fast shutdown
    } finally {
      await c.remove({ force: true });
    }
  }, 120_000);

  it('postgres refuses to initialise without POSTGRES_PASSWORD, as upstream does', async () => {
    const c = await runtime().run({ image: 'postgres:latest' });
    try {
      expect((await c.wait()).exitCode).toBe(1);
      expect(await logText(c)).toContain('superuser password is not specified');
    } finally {
      await c.remove({ force: true });
    }
  }, 60_000);

  it('redis answers PING, on every address, as the redis user', async () => {
    const c = await runtime().run({ image: 'redis', ports: [{ containerPort: 6379 }] });
    try {
      await eventually('redis-cli ping', async () => ((await c.exec(['redis-cli', 'ping'])).stdout === 'PONG\n' ? true : undefined));
      expect((await c.exec(['redis-cli', 'config', 'get', 'protected-mode'])).stdout).toBe('protected-mode\nno\n');
      expect((await c.exec(['redis-cli', 'config', 'get', 'bind'])).stdout).toBe('bind\n* -::*\n');
      expect((await c.exec(['stat', '-c', '%U', '/proc/1'])).stdout).toBe('redis\n');
      // through the published port, in redis's own protocol
      const reply = await new Promise<string>((resolve, reject) => {
        const s = connect(c.port(6379), '127.0.0.1', () => s.write('PING\r\n'));
        s.setTimeout(5000, () => s.destroy(new Error('no reply within 5 s')));
        s.once('data', (d) => {
          resolve(d.toString());
          s.end();
        });
        s.once('error', reject);
      });
      expect(reply).toBe('+PONG\r\n');
      expect((await c.stop()).exitCode).toBe(0);
    } finally {
      await c.remove({ force: true });
    }
  }, 120_000);
});
