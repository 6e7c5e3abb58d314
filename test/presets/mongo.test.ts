import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMayflyError, presets, sharedRuntime } from '../../src/index.js';
import { caught } from '../support/runtime.js';

const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * No MongoDB build is reachable offline, so what the preset does around the server — its command
 * line, the readiness loop through the shell, copying the seed folder in and loading it, reporting
 * a broken seed file — runs against a stand-in image: busybox with a `mongod` that records its
 * arguments and a `mongosh` that answers once mongod runs and "loads" seed files by printing the
 * loader's progress lines (failing at a file named fail.js).
 */
describe('presets.mongo around the server (a stand-in image)', () => {
  const IMAGE = 'localhost/mayfly-test/mongo-stand-in:1';
  beforeAll(async () => {
    const root = tmp('mongo-stand-in-');
    cpSync(process.env.MAYFLY_TEST_BUSYBOX!, root, { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/mongod'), '#!/bin/sh\necho "$@" > /tmp/mongod-args\nexec sleep 3600\n', { mode: 0o755 });
    writeFileSync(
      join(root, 'usr/local/bin/mongosh'),
      [
        '#!/bin/sh',
        'echo "$@" >> /tmp/mongosh-calls',
        'last=""; for a; do last="$a"; done',
        'case "$last" in',
        '  *.mayfly-seed-loader.js)',
        `    grep -o '"mayfly seed: [^"]*"' "$last" | tr -d '"' | while read -r line; do`,
        '      echo "$line"',
        '      case "$line" in *fail.js) echo "Error: boom in fail.js" >&2; exit 1 ;; esac',
        '    done || exit 1 ;;',
        '  *) [ -f /tmp/mongod-args ] ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const rt = await sharedRuntime();
    await rt.importRootfs(root, IMAGE, { Env: ['PATH=/usr/local/bin:/bin:/sbin'] });
  }, 120_000);
  afterAll(async () => {
    await (await sharedRuntime()).rmi(IMAGE, { force: true }).catch(() => {});
  });

  it('starts mongod as asked, is ready through the shell, and loads the seed folder in name order into the database', async () => {
    const seed = tmp('mongo-seed-');
    writeFileSync(join(seed, 'users.json'), '[{"name":"ada"}]');
    writeFileSync(join(seed, '01-indexes.js'), 'db.users.createIndex({ name: 1 })');
    chmodSync(seed, 0o700);
    // no snapshot: the calls read below are those of a start that initialises (a restored start skips the loader)
    await using m = await presets.mongo({ image: IMAGE, replicaSet: true, database: 'shop', seed, snapshot: false });
    expect((await m.exec(['cat', '/tmp/mongod-args'])).stdout).toBe('--bind_ip_all --replSet rs0 --wiredTigerCacheSizeGB 0.25\n');
    const calls = (await m.exec(['cat', '/tmp/mongosh-calls'])).stdout.trim().split('\n');
    expect(calls[0]).toMatch(/^--quiet --norc --eval function run/); // the readiness script
    expect(calls.at(-1)).toBe('--quiet --norc 127.0.0.1:27017/shop /mayfly-seed/.mayfly-seed-loader.js');
    expect((await m.exec(['cat', '/mayfly-seed/users.json'])).stdout).toBe('[{"name":"ada"}]');
    const loader = (await m.exec(['cat', '/mayfly-seed/.mayfly-seed-loader.js'])).stdout;
    expect(loader.indexOf('mayfly seed: 01-indexes.js')).toBeLessThan(loader.indexOf('mayfly seed: users.json'));
    expect((await m.exec(['sh', '-c', 'grep " /data/db " /proc/mounts | cut -d" " -f3'])).stdout).toBe('tmpfs\n');
    expect(m.connectionString()).toBe(`mongodb://127.0.0.1:${m.mappedPort}/shop?directConnection=true`);
  }, 120_000);

  it('a seed file that fails: the error names it and shows the shell output; the container is removed', async () => {
    const seed = tmp('mongo-seed-');
    writeFileSync(join(seed, 'a.json'), '{}');
    writeFileSync(join(seed, 'fail.js'), 'throw new Error("boom")');
    writeFileSync(join(seed, 'z.json'), '{}');
    const e = await caught(presets.mongo({ image: IMAGE, seed }));
    expect(e.code).toBe('CONTAINER_START_FAILED');
    expect(e.message).toContain(`loading the seed file fail.js from ${seed} failed (shell exit 1)`);
    expect(e.message).toContain('Error: boom in fail.js');
    expect(e.details).toMatchObject({ file: 'fail.js', exitCode: 1 });
    // (the suite's teardown fails the run if any container was left behind)
  }, 120_000);

  it('a seed folder with a file it cannot load is refused before anything starts', async () => {
    const seed = tmp('mongo-seed-');
    writeFileSync(join(seed, 'README.md'), '');
    const e = await caught(presets.mongo({ image: IMAGE, seed }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('README.md: neither .json (documents) nor .js (a script)');
  });
});

/**
 * The real server, with the official driver, when an image named `mongo` can be had: from the store,
 * Docker Hub or a configured mirror (MAYFLY_REGISTRY_MIRRORS). MAYFLY_TEST_MONGO_TAG picks the tag
 * (default: the preset's). Otherwise each test is reported as skipped, with the reason.
 */
describe('presets.mongo with a real MongoDB', () => {
  const tag = process.env.MAYFLY_TEST_MONGO_TAG;
  const image = `mongo:${tag ?? presets.MONGO_DEFAULT_TAG}`;
  let unavailable: string | undefined;
  beforeAll(async () => {
    const rt = await sharedRuntime();
    try {
      rt.inspect(image);
    } catch {
      try {
        await rt.pull(image);
      } catch (e) {
        const why = isMayflyError(e) ? e.message.split('\n')[0] : String(e);
        unavailable = `no ${image} image is reachable (${why}): the MongoDB end-to-end tests need Docker Hub or a mirror that has it`;
      }
    }
  }, 600_000);

  it('a replica set with seed data: transactions and change streams work through connectionString()', async (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const seed = tmp('mongo-seed-');
    writeFileSync(join(seed, 'users.json'), JSON.stringify([{ name: 'ada' }, { name: 'grace' }]));
    writeFileSync(join(seed, 'zz-index.js'), 'db.users.createIndex({ name: 1 }, { unique: true });');
    await using m = await presets.mongo({ ...(tag ? { tag } : {}), replicaSet: true, database: 'shop', seed });
    const client = new MongoClient(m.connectionString(), { serverSelectionTimeoutMS: 5000 });
    try {
      const users = client.db().collection<{ name: string }>('users');
      expect((await users.find().sort({ name: 1 }).toArray()).map((u) => u.name)).toEqual(['ada', 'grace']);
      await expect(users.insertOne({ name: 'ada' })).rejects.toThrow(/duplicate key/);
      const changes = users.watch();
      const next = changes.next();
      await client.withSession((session) => session.withTransaction(async () => {
        await users.insertOne({ name: 'linus' }, { session });
      }));
      expect((await next).operationType).toBe('insert');
      await changes.close();
    } finally {
      await client.close();
    }
  }, 600_000);

  it('standalone: ready for commands when it returns', async (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    await using m = await presets.mongo(tag ? { tag } : {});
    const client = new MongoClient(m.connectionString(), { serverSelectionTimeoutMS: 5000 });
    try {
      expect((await client.db().command({ ping: 1 })).ok).toBe(1);
    } finally {
      await client.close();
    }
  }, 600_000);
});
