/**
 * The modules (`mayfly/testcontainers/postgresql`, `/redis`, `/mongodb`, `/mysql`) as their users
 * write them: PostgreSQL, Redis and MySQL (the MariaDB look-alike published as `mysql:8`) with
 * real clients (pg, ioredis, mysql2); MongoDB, which cannot be had offline, against a stand-in that
 * checks what the module asks of the image (command line, readiness through its shell).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { MongoDBContainer } from '../../src/testcontainers/modules/mongodb.js';
import { MySqlContainer } from '../../src/testcontainers/modules/mysql.js';
import { PostgreSqlContainer } from '../../src/testcontainers/modules/postgresql.js';
import { RedisContainer } from '../../src/testcontainers/modules/redis.js';
import { GenericContainer, Wait } from '../../src/testcontainers/index.js';
import { presetImagesReady, usePresetImages } from '../support/preset-images.js';
import { caught } from '../support/runtime.js';

usePresetImages();
let major: Record<string, string> = {};
beforeAll(async () => {
  const images = await presetImagesReady();
  major = Object.fromEntries(images.map((i) => [i.name, i.tags.find((t) => /^\d+$/.test(t))!]));
});

const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(uri: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSqlContainer', () => {
  it('is ready for queries when started; credentials and connection URI; data on tmpfs', async () => {
    await using db = await new PostgreSqlContainer(`postgres:${major.postgres}`).withDatabase('shop').withUsername('app').withPassword('s3cret/&').start();
    expect([db.getDatabase(), db.getUsername(), db.getPassword()]).toEqual(['shop', 'app', 's3cret/&']);
    expect(db.getConnectionUri()).toBe(`postgres://app:s3cret%2F&@127.0.0.1:${db.getPort()}/shop`) // as the URL API encodes user info;
    const [row] = await query<{ db: string; who: string; fsync: string }>(db.getConnectionUri(), "select current_database() as db, current_user as who, current_setting('fsync') as fsync");
    expect(row).toEqual({ db: 'shop', who: 'app', fsync: 'off' });
    // in memory: a tmpfs, or (started from the initialised-data snapshot) an overlay writing to one
    expect((await db.exec(['sh', '-c', 'grep " /var/lib/postgresql/data " /proc/mounts'])).stdout).toMatch(/^(tmpfs|overlay) /);
  }, 120_000); // the first test to run it pulls the image

  it('snapshot() and restoreSnapshot() put the database back as it was', async () => {
    await using db = await new PostgreSqlContainer(`postgres:${major.postgres}`).start();
    const uri = db.getConnectionUri();
    await query(uri, 'create table items (n int); insert into items values (1), (2)');
    await db.snapshot();
    await query(uri, 'insert into items values (3); create table extra (x int)');
    await db.restoreSnapshot();
    expect(await query(db.getConnectionUri(), 'select count(*)::int as n from items')).toEqual([{ n: 2 }]);
    expect(await query(uri, "select count(*)::int as n from pg_tables where tablename = 'extra'")).toEqual([{ n: 0 }]);
    await db.withSnapshotName('second').snapshot();
    await query(uri, 'delete from items');
    await db.restoreSnapshot('second');
    expect(await query(uri, 'select count(*)::int as n from items')).toEqual([{ n: 2 }]);
    expect((await caught(db.snapshot('test'))).message).toContain('Snapshot name cannot be the same as the database name');
  });
});

describe('PostgreSqlContainer and MySqlContainer start from an initialised-data snapshot', () => {
  const logsOf = async (c: { logs(): Promise<NodeJS.ReadableStream & AsyncIterable<unknown>> }, until: RegExp) => {
    let all = '';
    for await (const chunk of await c.logs()) {
      all += String(chunk);
      if (until.test(all)) break;
    }
    return all;
  };

  it('a second start of the same configuration runs no initdb (a custom command does)', async () => {
    const make = () => new PostgreSqlContainer(`postgres:${major.postgres}`).withDatabase('snapdb').withUsername('snap');
    {
      await using first = await make().start();
      expect(first.getId()).toBeTruthy();
    }
    await using second = await make().start();
    const [row] = await query<{ one: number }>(second.getConnectionUri(), 'select 1 as one');
    expect(row).toEqual({ one: 1 });
    expect(await logsOf(second, /ready to accept connections/)).not.toMatch(/init process complete|initdb/i);
    await using custom = await make().withCommand(['postgres', '-c', 'fsync=off']).start();
    expect(await logsOf(custom, /init process complete/)).toMatch(/PostgreSQL init process complete/);
    // a wait of one's own may count first-start lines: that start initialises too
    await using waited = await make().withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2)).start();
    expect(waited.getId()).toBeTruthy();
  }, 180_000); // four postgres starts, three of them running initdb

  it('MySQL too: the second start finds its data initialised', async () => {
    const make = () => new MySqlContainer('mysql:8').withDatabase('snapdb').withUsername('snap').withUserPassword('pw');
    {
      await using first = await make().start();
      expect(first.getId()).toBeTruthy();
    }
    await using second = await make().start();
    const conn = await mysql.createConnection(second.getConnectionUri());
    try {
      const [rows] = await conn.query('select database() as db');
      expect(rows).toEqual([{ db: 'snapdb' }]);
    } finally {
      await conn.end();
    }
    expect(await logsOf(second, /ready for connections/)).not.toMatch(/init process done/i);
  }, 180_000);
});

describe('RedisContainer', () => {
  it('with a password: connection URL for ioredis, redis-cli inside, initial data', async () => {
    const dir = tmp('tc-redis-');
    writeFileSync(join(dir, 'import.redis'), 'SET greeting hello\nRPUSH queue a b c\n');
    await using r = await new RedisContainer(`redis:${major.redis}`).withPassword('pw').withInitialData(join(dir, 'import.redis')).start();
    expect(r.getConnectionUrl()).toBe(`redis://:pw@127.0.0.1:${r.getPort()}`);
    expect(r.getPassword()).toBe('pw');
    const client = new Redis(r.getConnectionUrl());
    try {
      expect(await client.get('greeting')).toBe('hello');
      expect(await client.lrange('queue', 0, -1)).toEqual(['a', 'b', 'c']);
    } finally {
      client.disconnect();
    }
    expect(await r.executeCliCmd('PING')).toBe('PONG\n');
    expect(await r.executeCliCmd('GET', ['greeting'])).toBe('hello\n');
    expect((await r.exec(['sh', '-c', 'grep " /data " /proc/mounts'])).stdout).toMatch(/^tmpfs /);
  });

  it('without a password; withPersistence keeps /data in a host directory', async () => {
    const data = tmp('tc-redis-data-');
    {
      await using r = await new RedisContainer(`redis:${major.redis}`).withPersistence(data).start();
      expect(r.getConnectionUrl()).toBe(`redis://127.0.0.1:${r.getPort()}`);
      const client = new Redis(r.getConnectionUrl());
      await client.set('kept', 'yes');
      await client.save();
      client.disconnect();
    }
    {
      await using again = await new RedisContainer(`redis:${major.redis}`).withPersistence(data).start();
      expect(await again.executeCliCmd('GET', ['kept'])).toBe('yes\n');
    }
    // redis's files belong to its user (a subordinate id when rootless): only a container can delete them
    await using cleaner = await new GenericContainer(`redis:${major.redis}`).withBindMounts([{ source: data, target: '/data' }]).withCommand(['sh', '-c', 'rm -rf /data/* /data/.[!.]*; true']).withWaitStrategy(Wait.forOneShotStartup()).start();
    expect(cleaner.getId()).toBeTruthy();
  });
});

/** busybox with scripts named as the server's programs: they record what they are asked and answer like the real ones */
async function standIn(name: string, files: Record<string, string>): Promise<string> {
  const root = tmp(`${name}-stand-in-`);
  cpSync(process.env.MAYFLY_TEST_BUSYBOX!, root, { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(root, 'usr/local/bin', f), content, { mode: 0o755 });
  const image = `localhost/mayfly-test/${name}-stand-in:${process.pid}`;
  await (await sharedRuntime()).importRootfs(root, image, { Cmd: ['mongod'] });
  return image;
}

describe('MongoDBContainer (a stand-in image: no MongoDB build can be had offline)', () => {
  it('runs mongod as a replica set rs0 on tmpfs, ready through the mongo shell; credentials are refused', async () => {
    const image = await standIn('mongo', {
      mongod: '#!/bin/sh\necho "$@" > /tmp/mongod-args\nexec sleep 3600\n',
      mongosh: '#!/bin/sh\n[ -f /tmp/mongod-args ]\n',
    });
    await using m = await new MongoDBContainer(image).start();
    expect((await m.exec(['cat', '/tmp/mongod-args'])).stdout).toMatch(/^--bind_ip_all --replSet rs0 /);
    expect(m.getConnectionString()).toBe(`mongodb://127.0.0.1:${m.getMappedPort(27017)}`);
    expect((await caught(new MongoDBContainer(image).withUsername('u').withPassword('p').start())).code).toBe('UNSUPPORTED');
  });
});

describe('MySqlContainer', () => {
  it('is ready for queries when started (the final server, over TCP); credentials, connection URIs, queries through the client inside', async () => {
    await using db = await new MySqlContainer('mysql:8').withDatabase('shop').withUsername('app').withUserPassword('pw').withRootPassword('rootpw').start();
    expect([db.getDatabase(), db.getUsername(), db.getUserPassword(), db.getRootPassword()]).toEqual(['shop', 'app', 'pw', 'rootpw']);
    expect(db.getConnectionUri()).toBe(`mysql://app:pw@127.0.0.1:${db.getPort()}/shop`);
    expect(db.getConnectionUri(true)).toBe(`mysql://root:rootpw@127.0.0.1:${db.getPort()}/shop`);
    const conn = await mysql.createConnection(db.getConnectionUri());
    try {
      await conn.query('create table items (n int)');
      await conn.query('insert into items values (1), (2)');
      const [rows] = await conn.query('select count(*) as n from items');
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      await conn.end();
    }
    expect(await db.executeQuery('select count(*) from shop.items', ['--skip-column-names'])).toBe('2\n');
    expect(await db.executeQuery('select current_user()', ['--skip-column-names'], true)).toMatch(/^root@/);
    expect((await db.exec(['sh', '-c', 'grep " /var/lib/mysql " /proc/mounts'])).output).toMatch(/^(tmpfs|overlay) /);
    expect((await caught(db.executeQuery('select * from nowhere'))).message).toContain('executeQuery failed with exit code 1');
  }, 180_000); // its first start here pulls the image
});
