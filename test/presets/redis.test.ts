import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/index.js';
import { usePresetImages } from '../support/preset-images.js';
import { caught } from '../support/runtime.js';

// `redis:7` (the preset's default tag) by its upstream name, pulled through this run's docker.io
// mirror, where test/support/preset-images.ts published a look-alike of Debian's redis 7.
usePresetImages();

/** One command over a plain connection; the first reply. */
function rawCommand(host: string, port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host, () => s.write(`${command}\r\n`));
    s.setTimeout(5000, () => s.destroy(new Error('no reply within 5 s')));
    s.once('data', (d) => {
      resolve(d.toString());
      s.end();
    });
    s.once('error', reject);
  });
}

/**
 * `fn`, and if it fails, the error says what the container was doing then: session 3's CI once got
 * a bare ECONNREFUSED on the published port here, and nothing more to go on.
 */
async function explained<T>(r: presets.StartedRedis, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const listening = await r.container.listening().then((ports) => ports.join(',') || 'none', (le: Error) => `unknown (${le.message})`);
    const output = await r.output().then((o) => o.trim().split('\n').slice(-5).join(' | '), () => '');
    throw new Error(`${(e as Error).message} — container ${r.name} is ${r.container.status}, published ${JSON.stringify(r.ports())}, listening inside on ${listening}; last output: ${output}`, { cause: e });
  }
}

describe('presets.redis', () => {
  it('answers ioredis at connectionString() as soon as it returns; nothing persisted, /data on tmpfs', async () => {
    await using r = await presets.redis();
    expect(r.connectionString()).toBe(`redis://127.0.0.1:${r.mappedPort}`);
    const client = new Redis(r.connectionString(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await explained(r, () => client.connect());
      expect(await client.ping()).toBe('PONG');
      await client.set('greeting', 'hello from mayfly');
      expect(await client.get('greeting')).toBe('hello from mayfly');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    } finally {
      client.disconnect();
    }
    expect((await r.exec(['stat', '-f', '-c', '%T', '/data'])).stdout.trim()).toBe('tmpfs');
  }, 180_000);

  it('with a password: clients without it are refused, connectionString() carries it; extra server arguments', async () => {
    await using r = await presets.redis({ password: 's3cret/:@', args: ['--maxmemory', '32mb'] });
    expect(r.connectionString()).toBe(`redis://:${encodeURIComponent('s3cret/:@')}@127.0.0.1:${r.mappedPort}`);
    // without the password, in redis's own protocol (a client library would fail at its handshake)
    expect(await explained(r, () => rawCommand(r.host, r.mappedPort, 'GET x'))).toMatch(/^-NOAUTH/);
    const client = new Redis(r.connectionString(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await explained(r, () => client.connect());
      expect(await client.config('GET', 'maxmemory')).toEqual(['maxmemory', String(32 * 1024 * 1024)]);
    } finally {
      client.disconnect();
    }
  }, 180_000);

  it('a seed file is run by the first start and kept: later starts load it from the snapshot, commands not run again', async () => {
    const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'redis-seed-'));
    try {
      const seed = join(dir, 'seed.redis');
      writeFileSync(seed, `SET run ${process.pid}-${Date.now()}\nRPUSH queue a b c\nHSET user:1 name ada\nINCR counter\n`);
      const first = await presets.redis({ seed, password: 'pw' });
      expect(first.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
      const read = async (r: presets.StartedRedis) => {
        const client = new Redis(r.connectionString(), { lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await client.connect();
          return [await client.get('run'), await client.lrange('queue', 0, -1), await client.hget('user:1', 'name'), await client.get('counter')];
        } finally {
          client.disconnect();
        }
      };
      const data = await read(first);
      expect(data.slice(1)).toEqual([['a', 'b', 'c'], 'ada', '1']);
      await first.remove();
      await using second = await presets.redis({ seed, password: 'pw' });
      expect(second.initSnapshot).toMatchObject({ source: 'snapshot', key: first.initSnapshot!.key });
      // INCR ran once: the data came from the snapshot, not from the commands again
      expect(await read(second)).toEqual(data);
      expect(await second.output()).toMatch(/DB loaded from disk/);
      // a seed a server refuses fails the start with the reply
      writeFileSync(join(dir, 'bad.redis'), 'SET a 1\nLPUSH a x\n');
      const bad = await caught(presets.redis({ seed: join(dir, 'bad.redis') }));
      expect(bad.message).toMatch(/presets\.redis: the seed .*bad\.redis failed: .*WRONGTYPE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses wrong options before anything starts', async () => {
    const e = await caught(presets.redis({ image: 'redis:7', tag: '6' }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('already names a tag');
    const typo = await caught(presets.redis({ passwrd: 'x' } as never));
    expect(typo.message).toMatch(/presets\.redis options[\s\S]*passwrd/);
  });
});
