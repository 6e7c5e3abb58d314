// Scenarios 11–13: databases as test suites start and reset them.
//   11. PostgreSQL preset: start → first query as its user, warm (from the initialised-data
//       snapshot a first start kept) and cold (the first start of a configuration: initdb, the
//       snapshot kept), beside `podman run` and Testcontainers' PostgreSqlContainer
//   12. MySQL preset (the MariaDB look-alike published as mysql:8.4): the same, beside `podman
//       run` and Testcontainers' MySqlContainer
//   13. per-test isolation on one running server: fork(), restore(), snapshot() — mayfly's
//       postgres and mysql presets, and PostgreSqlContainer's snapshot()/restoreSnapshot()
// "First query" is a new client's connection and SELECT 1 as the preset's user (pg, mysql2),
// polled every 10 ms for the peers, once for mayfly (it returns when a query works).
import getPort from 'get-port';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { conmonPids, podman } from '../peers/podman.mjs';
import { iterate, now, sleep } from './ready.mjs';

const { presets } = await import('../../dist/index.js');

const GAP_MS = 150;
const DEADLINE_MS = 120_000;

async function pgFirstQuery(url) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.query('SELECT 1 AS one')).rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    c.end().catch(() => {});
  }
}

async function mysqlFirstQuery(url) {
  let c;
  try {
    c = await mysql.createConnection({ uri: url, connectTimeout: 2000 });
    const [rows] = await c.query('SELECT 1 AS one');
    return rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    c?.destroy();
  }
}

/** Until `query(url)` succeeds, polled every 10 ms. */
async function until(query, url) {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if (await query(url)) return;
    await sleep(10);
  }
  throw new Error(`${url}: no successful query within ${DEADLINE_MS} ms`);
}

/** The flavour's preset, its image reference split as the preset takes it, and how the peers run it. */
function flavour(ctx, kind) {
  if (kind === 'postgres') {
    return {
      image: ctx.images.postgres,
      start: (opts) => presets.postgres({ image: ctx.images.postgres.replace(/:[^:/]+$/, ''), tag: 'latest', ...opts }, { runtime: ctx.rt }),
      query: pgFirstQuery,
      port: 5432,
      url: (port) => `postgres://test:test@127.0.0.1:${port}/test`,
      podmanArgs: ['-e', 'POSTGRES_USER=test', '-e', 'POSTGRES_PASSWORD=test', '-e', 'POSTGRES_DB=test', '--tmpfs', '/var/lib/postgresql/data'],
    };
  }
  return {
    image: ctx.images.mysql,
    start: (opts) => presets.mysql({ image: ctx.images.mysql.replace(/:[^:/]+$/, ''), tag: '8.4', ...opts }, { runtime: ctx.rt }),
    query: mysqlFirstQuery,
    port: 3306,
    url: (port) => `mysql://test:test@127.0.0.1:${port}/test`,
    podmanArgs: ['-e', 'MYSQL_ROOT_PASSWORD=test', '-e', 'MYSQL_USER=test', '-e', 'MYSQL_PASSWORD=test', '-e', 'MYSQL_DATABASE=test', '--tmpfs', '/var/lib/mysql'],
  };
}

async function startRows(ctx, kind, n) {
  const f = flavour(ctx, kind);
  const rows = [];
  const mayfly = async (opts, beforeEach) =>
    iterate(n, 1, GAP_MS, async () => {
      await beforeEach?.();
      const t0 = now();
      const db = await f.start(opts);
      if (!(await f.query(db.connectionString()))) throw new Error(`${kind} preset: the first query failed`);
      const t = now() - t0;
      await db.remove();
      return { t };
    });
  rows.push({ system: 'mayfly', label: `mayfly presets.${kind}(): warm, from the initialised-data snapshot → first query`, values: (await mayfly({})).t, main: true, short: 'mayfly warm' });
  // cold: no snapshot in the store — the start initialises, keeps one and starts from it
  rows.push({ system: 'mayfly', label: `mayfly presets.${kind}(): cold, first start of the configuration (initialises, keeps the snapshot) → first query`, values: (await mayfly({}, () => ctx.rt.snapshots.prune())).t, short: 'mayfly cold' });
  rows.push({ system: 'mayfly', label: `mayfly presets.${kind}({ snapshot: false }): initialises every time → first query`, values: (await mayfly({ snapshot: false })).t, short: 'mayfly no snapshot' });

  if (ctx.podman) {
    const p = await iterate(n, 1, GAP_MS, async () => {
      const hostPort = await getPort({ host: '127.0.0.1' });
      const t0 = now();
      const id = await podman(['run', '-d', '-p', `127.0.0.1:${hostPort}:${f.port}`, ...f.podmanArgs, f.image], ctx.podman.env);
      await until(f.query, f.url(hostPort));
      const t = now() - t0;
      await podman(['rm', '-f', id], ctx.podman.env);
      return { t };
    });
    rows.push({ system: 'podman', label: `podman run -d -p 127.0.0.1:PORT:${f.port} --tmpfs DATADIR → first query`, values: p.t, short: 'podman' });
  }
  if (ctx.tc) {
    const { Wait } = ctx.tc.module;
    const t = await iterate(n, 1, GAP_MS, async () => {
      const t0 = now();
      let c;
      if (kind === 'postgres') {
        const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
        // its own wait is the image's health check, which podman without systemd never runs: the log line its module waited for before
        c = await new PostgreSqlContainer(f.image).withTmpFs({ '/var/lib/postgresql/data': 'rw' }).withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2)).start();
      } else {
        const { MySqlContainer } = await import('@testcontainers/mysql');
        c = await new MySqlContainer(f.image).withTmpFs({ '/var/lib/mysql': 'rw' }).start();
      }
      await until(f.query, c.getConnectionUri());
      const ms = now() - t0;
      await c.stop();
      return { t: ms };
    });
    const wait = kind === 'postgres' ? 'Wait.forLogMessage(/ready to accept connections/, 2)' : 'its default wait (port 3306 listening)';
    rows.push({ system: 'testcontainers', label: `Testcontainers ${kind === 'postgres' ? 'PostgreSqlContainer' : 'MySqlContainer'}.start() with ${wait}, --tmpfs DATADIR → first query`, values: t.t, peer: true, short: 'Testcontainers' });
  }
  return rows;
}

function startTargets(rows) {
  const warm = rows.find((r) => r.main);
  const tc = rows.find((r) => r.peer);
  const out = [{ goal: 'warm start → first query ≤ 150 ms', text: `${warm.median.toFixed(0)} ms`, met: warm.median <= 150 }];
  if (tc) out.push({ goal: '≥ 5× faster than Testcontainers (warm)', text: `${(tc.median / warm.median).toFixed(1)}× faster`, met: tc.median / warm.median >= 5 });
  return out;
}

export async function postgresPreset(ctx) {
  return {
    id: 11,
    title: 'PostgreSQL preset: start to first query, warm (initialised-data snapshot) and cold',
    shortTitle: 'postgres preset → first query',
    unit: 'ms',
    rows: await startRows(ctx, 'postgres', ctx.iterations(10)),
    targets: startTargets,
  };
}

export async function mysqlPreset(ctx) {
  return {
    id: 12,
    title: 'MySQL preset (MariaDB look-alike as mysql:8.4): start to first query, warm and cold',
    shortTitle: 'mysql preset → first query',
    unit: 'ms',
    rows: await startRows(ctx, 'mysql', ctx.iterations(10)),
    targets: startTargets,
  };
}

const PG_SCHEMA = [
  'create table customer (id serial primary key, name text not null)',
  'create table orders (id serial primary key, customer_id int not null references customer (id), total int not null)',
  "insert into customer (name) select 'customer ' || g from generate_series(1, 100) g",
  'insert into orders (customer_id, total) select 1 + g % 100, g from generate_series(1, 1000) g',
];
const MY_SCHEMA = [
  'create table customer (id int auto_increment primary key, name varchar(40) not null)',
  'create table orders (id int auto_increment primary key, customer_id int not null, total int not null, foreign key (customer_id) references customer (id))',
  "insert into customer (name) with recursive s (n) as (select 1 union all select n + 1 from s where n < 100) select concat('customer ', n) from s",
  'insert into orders (customer_id, total) with recursive s (n) as (select 1 union all select n + 1 from s where n < 1000) select 1 + n % 100, n from s',
];

export async function isolation(ctx) {
  const n = ctx.iterations(15);
  const rows = [];
  // mayfly postgres
  {
    const db = await flavour(ctx, 'postgres').start({});
    try {
      const c = new pg.Client({ connectionString: db.connectionString() });
      await c.connect();
      for (const s of PG_SCHEMA) await c.query(s);
      await c.end();
      const snap = await iterate(n, 1, 50, async () => ({ t: await timed(() => db.snapshot()) }));
      const forks = [];
      const fork = await iterate(n, 1, 50, async () => {
        const t0 = now();
        forks.push(await db.fork());
        return { t: now() - t0 };
      });
      const restore = await iterate(n, 1, 50, async () => ({ t: await timed(() => db.restore()) }));
      rows.push(
        { system: 'mayfly', label: 'mayfly postgres: fork() (CREATE DATABASE … TEMPLATE, 2 tables, 1100 rows) → connection string', values: fork.t, main: true, short: 'mayfly fork' },
        { system: 'mayfly', label: 'mayfly postgres: restore()', values: restore.t, short: 'mayfly restore', restore: true },
        { system: 'mayfly', label: 'mayfly postgres: snapshot()', values: snap.t, short: 'mayfly snapshot' },
      );
    } finally {
      await db.remove();
    }
  }
  // mayfly mysql
  {
    const db = await flavour(ctx, 'mysql').start({});
    try {
      const c = await mysql.createConnection({ uri: db.connectionString().replace('mysql://test:test@', 'mysql://root:test@') });
      for (const s of MY_SCHEMA) await c.query(s);
      await c.end();
      const snap = await iterate(n, 1, 50, async () => ({ t: await timed(() => db.snapshot()) }));
      const fork = await iterate(n, 1, 50, async () => ({ t: await timed(() => db.fork()) }));
      const restore = await iterate(n, 1, 50, async () => ({ t: await timed(() => db.restore()) }));
      rows.push(
        { system: 'mayfly', label: 'mayfly mysql: fork() (schema copy, 2 tables, 1100 rows)', values: fork.t, short: 'mayfly mysql fork', mysqlFork: true },
        { system: 'mayfly', label: 'mayfly mysql: restore()', values: restore.t, short: 'mayfly mysql restore', mysqlRestore: true },
        { system: 'mayfly', label: 'mayfly mysql: snapshot()', values: snap.t, short: 'mayfly mysql snapshot' },
      );
    } finally {
      await db.remove();
    }
  }
  if (ctx.tc) {
    const { Wait } = ctx.tc.module;
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer(ctx.images.postgres).withTmpFs({ '/var/lib/postgresql/data': 'rw' }).withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2)).start();
    try {
      await until(pgFirstQuery, c.getConnectionUri());
      const client = new pg.Client({ connectionString: c.getConnectionUri() });
      await client.connect();
      for (const s of PG_SCHEMA) await client.query(s);
      await client.end();
      const snap = await iterate(n, 1, 50, async () => ({ t: await timed(() => c.snapshot()) }));
      const restore = await iterate(n, 1, 50, async () => ({ t: await timed(() => c.restoreSnapshot()) }));
      rows.push(
        { system: 'testcontainers', label: 'Testcontainers PostgreSqlContainer: restoreSnapshot() (psql runs through the Docker API)', values: restore.t, short: 'TC restore', tcRestore: true },
        { system: 'testcontainers', label: 'Testcontainers PostgreSqlContainer: snapshot()', values: snap.t, short: 'TC snapshot' },
      );
    } finally {
      await c.stop();
      endExecMonitors();
    }
  }
  return {
    id: 13,
    title: 'Per-test isolation on one running server: fork, restore, snapshot',
    shortTitle: 'fork / restore',
    unit: 'ms',
    rows,
    targets: (s) => {
      const fork = s.find((r) => r.main);
      const restore = s.find((r) => r.restore);
      const tc = s.find((r) => r.tcRestore);
      const out = [
        { goal: 'postgres fork() ≤ 50 ms', text: `${fork.median.toFixed(1)} ms`, met: fork.median <= 50 },
        { goal: 'postgres restore() ≤ 100 ms', text: `${restore.median.toFixed(1)} ms`, met: restore.median <= 100 },
      ];
      if (tc) out.push({ goal: 'restore faster than Testcontainers restoreSnapshot()', text: `${(tc.median / restore.median).toFixed(1)}× faster`, met: tc.median > restore.median });
      const mf = s.find((r) => r.mysqlFork);
      const mr = s.find((r) => r.mysqlRestore);
      if (mf) out.push({ goal: 'mysql fork() ≤ 50 ms', text: `${mf.median.toFixed(1)} ms`, met: mf.median <= 50 });
      if (mr) out.push({ goal: 'mysql restore() ≤ 100 ms', text: `${mr.median.toFixed(1)} ms`, met: mr.median <= 100 });
      return out;
    },
  };
}

async function timed(fn) {
  const t0 = now();
  await fn();
  return now() - t0;
}

/**
 * Each exec through podman's API leaves its conmon waiting 300 s (`--exit-delay 300`) after the
 * exec ended; once the container is gone they serve nobody: end them, by pid, so that the run
 * leaves nothing behind.
 */
function endExecMonitors() {
  for (const pid of conmonPids()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--exec-attach')) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
