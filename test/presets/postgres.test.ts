import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/index.js';
import { presetImagesReady, usePresetImages } from '../support/preset-images.js';
import { caught } from '../support/runtime.js';

// `postgres` by its upstream name, pulled through the docker.io mirror of this run (the look-alike
// of test/support/preset-images.ts); the preset's default tag is a newer major than Debian's, so
// the tests ask for the major that is there, as a user pins the one production runs.
usePresetImages();
let tag = '';
beforeAll(async () => {
  tag = majorTag(await presetImagesReady(), 'postgres');
});

function majorTag(images: { name: string; tags: string[] }[], name: string): string {
  const t = images.find((i) => i.name === name)?.tags.find((x) => /^\d+$/.test(x));
  if (!t) throw new Error(`no major-version tag of ${name} in the test registry`);
  return t;
}

async function query<T extends pg.QueryResultRow>(connectionString: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('presets.postgres', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is ready for queries when it returns: pg connects with connectionString(), data in memory, durability off', async () => {
    await using db = await presets.postgres({ tag });
    expect(db.connectionString()).toBe(`postgres://test:test@127.0.0.1:${db.mappedPort}/test`);
    // no retry: the first connection must work
    const rows = await query<{ who: string; db: string; fsync: string }>(
      db.connectionString(),
      "select current_user as who, current_database() as db, current_setting('fsync') as fsync",
    );
    expect(rows).toEqual([{ who: 'test', db: 'test', fsync: 'off' }]);
    const client = new pg.Client({ connectionString: db.connectionString() });
    await client.connect();
    await client.query('create table t (id serial primary key, name text)');
    await client.query("insert into t (name) values ('mayfly'), ('preset')");
    expect((await client.query('select name from t order by id')).rows.map((r) => r.name)).toEqual(['mayfly', 'preset']);
    await client.end();
    // started from the initialised-data snapshot: an overlay whose writes go to a tmpfs
    expect((await db.exec(['stat', '-f', '-c', '%T', '/var/lib/postgresql/data'])).stdout.trim()).toBe('overlayfs');
  }, 180_000);

  it('a second start of a configuration runs no initdb: it starts from the snapshot the first one kept, and sooner', async () => {
    const init = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'pg-snap-'));
    dirs.push(init);
    // a configuration of this test alone: its first start is really the first
    writeFileSync(join(init, '01-mark.sql'), `create table mark (at text); insert into mark values ('${process.pid}-${Date.now()}');\n`);
    let t0 = Date.now();
    const first = await presets.postgres({ tag, initScripts: init });
    const firstMs = Date.now() - t0;
    expect(first.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
    const mark = await query<{ at: string }>(first.connectionString(), 'select at from mark');
    await first.remove();
    t0 = Date.now();
    await using second = await presets.postgres({ tag, initScripts: init });
    const secondMs = Date.now() - t0;
    expect(second.initSnapshot).toMatchObject({ source: 'snapshot', key: first.initSnapshot!.key });
    const log = await second.output();
    // the server found a cluster shut down cleanly, and neither initdb nor the init scripts ran
    expect(log).toMatch(/database system was shut down at/);
    expect(log).not.toMatch(/initdb|init process complete|01-mark\.sql|CREATE DATABASE/i);
    expect(await query(second.connectionString(), 'select at from mark')).toEqual(mark);
    expect(secondMs).toBeLessThan(firstMs);
    // without snapshots the entrypoint initialises every time
    await using plain = await presets.postgres({ tag, initScripts: init, snapshot: false });
    expect(plain.initSnapshot).toBeUndefined();
    expect(await plain.output()).toMatch(/PostgreSQL init process complete/);
    expect((await plain.exec(['stat', '-f', '-c', '%T', '/var/lib/postgresql/data'])).stdout.trim()).toBe('tmpfs');
  }, 180_000);

  it('snapshot/restore and fork keep data apart: a row written in one fork is absent in another and after restore', async () => {
    await using db = await presets.postgres({ tag });
    const migrate = new pg.Client({ connectionString: db.connectionString() });
    await migrate.connect();
    await migrate.query('create table item (id serial primary key, name text not null)');
    await migrate.query("insert into item (name) values ('seed')");
    await migrate.end();
    await db.snapshot();
    const [a, b] = [await db.fork(), await db.fork()];
    expect(a).not.toBe(b);
    expect(a).toMatch(new RegExp(`^postgres://test:test@127\\.0\\.0\\.1:${db.mappedPort}/test_fork\\d+$`));
    await query(a, "insert into item (name) values ('only in a')");
    expect((await query<{ name: string }>(a, 'select name from item order by id')).map((r) => r.name)).toEqual(['seed', 'only in a']);
    expect((await query<{ name: string }>(b, 'select name from item order by id')).map((r) => r.name)).toEqual(['seed']);
    // the database itself: written to, then restored (its sessions are ended; a new client sees the snapshot)
    const app = new pg.Client({ connectionString: db.connectionString() });
    await app.connect();
    app.on('error', () => {});
    await app.query("insert into item (name) values ('written by a test')");
    // a fork of a database with sessions is refused with the reason; a fork of the snapshot works meanwhile
    const busy = await caught(db.fork());
    expect(busy.code).toBe('DATABASE_BUSY');
    expect(busy.message).toContain('other sessions are connected');
    const fromSnapshot = await db.fork({ from: 'mayfly_snapshot' });
    expect((await query<{ n: string }>(fromSnapshot, 'select count(*) as n from item'))[0]!.n).toBe('1');
    await db.restore();
    await expect(app.query('select 1')).rejects.toThrow();
    await app.end().catch(() => {});
    expect((await query<{ name: string }>(db.connectionString(), 'select name from item order by id')).map((r) => r.name)).toEqual(['seed']);
    // a fork is dropped on request; a missing snapshot is named
    await db.dropFork(a);
    await expect(query(a, 'select 1')).rejects.toThrow(/does not exist/);
    const missing = await caught(db.restore('nope'));
    expect(missing.code).toBe('SNAPSHOT_NOT_FOUND');
    expect(missing.message).toContain('"nope"');
    expect((await caught(db.snapshot('test'))).message).toMatch(/is the database itself/);
  }, 180_000);

  it('takes user, password (encoded in the URL), database, server settings and init scripts', async () => {
    const init = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'pg-init-'));
    dirs.push(init);
    writeFileSync(join(init, '01-schema.sql'), 'create table fruit (name text);\n');
    writeFileSync(join(init, '02-data.sql'), "insert into fruit values ('apple'), ('pear');\n");
    chmodSync(join(init, '01-schema.sql'), 0o600); // the preset makes them readable to the postgres user
    const password = 'p@ss:w/rd?#%';
    await using db = await presets.postgres({ tag, user: 'app_user', password, database: 'shop', config: { max_connections: 42, log_statement: 'all' }, initScripts: init });
    expect(db.connectionString()).toBe(`postgres://app_user:${encodeURIComponent(password)}@127.0.0.1:${db.mappedPort}/shop`);
    const rows = await query<{ name: string }>(db.connectionString(), 'select name from fruit order by name');
    expect(rows.map((r) => r.name)).toEqual(['apple', 'pear']);
    expect(await query(db.connectionString(), "select current_setting('max_connections') as m, current_user as u")).toEqual([{ m: '42', u: 'app_user' }]);
    // the password is checked over TCP
    const wrong = new pg.Client({ connectionString: db.connectionString().replace(encodeURIComponent(password), 'nope') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
    await wrong.end().catch(() => {});
  }, 180_000);

  it('refuses wrong options before anything starts, naming the field', async () => {
    const e = await caught(presets.postgres({ tag: 'bad tag', password: '', config: { 'bad name': 1 }, typo: true } as never));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('presets.postgres options');
    expect(e.message).toMatch(/tag: /);
    expect(e.message).toMatch(/password: .*password/);
    expect(e.message).toMatch(/typo/);
  });
});
