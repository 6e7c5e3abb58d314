import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/index.js';
import { usePresetImages } from '../support/preset-images.js';
import { caught } from '../support/runtime.js';

// `mysql:8.4` and `mariadb:11` (the presets' defaults) by their upstream names, pulled through this
// run's docker.io mirror, where test/support/preset-images.ts published the MariaDB look-alike
// under both names (presets/images/mariadb: the official images' contract, MariaDB 10.11 inside).
usePresetImages();

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function rows<T>(url: string | mysql.ConnectionOptions, sql: string): Promise<T[]> {
  const conn = await mysql.createConnection(url as mysql.ConnectionOptions);
  try {
    return (await conn.query(sql))[0] as T[];
  } finally {
    await conn.end();
  }
}

function initDir(files: Record<string, string | Buffer>, mode?: Record<string, number>): string {
  const d = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'mysql-init-'));
  dirs.push(d);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content, { mode: mode?.[name] ?? 0o600 });
  return d;
}

describe('presets.mysql and presets.mariadb', () => {
  it('mysql(): ready for the configured user over TCP when it returns (no retry), durability off, data in memory; root logs in too', async () => {
    await using db = await presets.mysql();
    expect(db.connectionString()).toBe(`mysql://test:test@127.0.0.1:${db.mappedPort}/test`);
    const [who] = await rows<{ u: string; d: string; flush: number }>(db.connectionString(), 'SELECT current_user() AS u, database() AS d, @@innodb_flush_log_at_trx_commit AS flush');
    expect(who).toEqual({ u: 'test@%', d: 'test', flush: 0 });
    const conn = await mysql.createConnection(db.connectionString());
    await conn.query('CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))');
    await conn.query("INSERT INTO t (name) VALUES ('mayfly'), ('preset')");
    expect(((await conn.query('SELECT name FROM t ORDER BY id'))[0] as { name: string }[]).map((r) => r.name)).toEqual(['mayfly', 'preset']);
    await conn.end();
    const [root] = await rows<{ u: string }>({ host: db.host, port: db.mappedPort, user: 'root', password: 'test' }, 'SELECT current_user() AS u');
    expect(root!.u).toBe('root@%');
    expect((await db.exec(['stat', '-f', '-c', '%T', '/var/lib/mysql'])).stdout.trim()).toBe('overlayfs');
  }, 240_000);

  it('mariadb(): as root only, server options, every kind of init script; a second start runs no initialisation and is sooner', async () => {
    const scripts = initDir(
      {
        '01-schema.sql': `CREATE TABLE fruit (name VARCHAR(20)); -- ${process.pid}-${Date.now()}\n`,
        '02-rows.sql.gz': gzipSync("INSERT INTO fruit VALUES ('apple');\n"),
        '03-more.sh': 'docker_process_sql -e "INSERT INTO fruit VALUES (\'pear\')"\n',
      },
      { '03-more.sh': 0o644 },
    );
    const options = { user: 'root', password: 'r00t', database: 'shop', config: { max_connections: 42 }, initScripts: scripts };
    let t0 = Date.now();
    const first = await presets.mariadb(options);
    const firstMs = Date.now() - t0;
    expect(first.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
    expect(first.connectionString()).toBe(`mysql://root:r00t@127.0.0.1:${first.mappedPort}/shop`);
    expect(await rows(first.connectionString(), 'SELECT name FROM fruit ORDER BY name')).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    expect(await rows(first.connectionString(), 'SELECT @@max_connections AS m')).toEqual([{ m: 42 }]);
    await first.remove();
    t0 = Date.now();
    await using second = await presets.mariadb(options);
    const secondMs = Date.now() - t0;
    expect(second.initSnapshot).toMatchObject({ source: 'snapshot', key: first.initSnapshot!.key });
    const log = await second.output();
    expect(log).toMatch(/ready for connections/);
    // neither the system tables' install, nor the temporary server, nor the scripts
    expect(log).not.toMatch(/init process done|01-schema|03-more|port: 0\b|mariadb-install-db|Installing/i);
    expect(await rows(second.connectionString(), 'SELECT name FROM fruit ORDER BY name')).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    expect(secondMs).toBeLessThan(firstMs);
  }, 240_000);

  it('snapshot/restore and fork keep data apart: a row written in one fork is absent in another and after restore (keys, views, triggers, generated columns copied)', async () => {
    await using db = await presets.mysql({ database: 'app' });
    const migrate = await mysql.createConnection({ uri: db.connectionString(), multipleStatements: true });
    await migrate.query(`
      CREATE TABLE customer (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, upper_name VARCHAR(40) AS (UPPER(name)) STORED);
      CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES customer (id));
      CREATE TABLE audit (what VARCHAR(60));
      CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit VALUES (CONCAT('order ', NEW.id));
      CREATE VIEW big_orders AS SELECT o.id, c.name FROM orders o JOIN customer c ON c.id = o.customer_id WHERE o.total > 100;
      INSERT INTO customer (name) VALUES ('ada');
      INSERT INTO orders (customer_id, total) VALUES (1, 500);
    `);
    await migrate.end();
    await db.snapshot();
    const [a, b] = [await db.fork(), await db.fork()];
    expect(a).toMatch(new RegExp(`^mysql://test:test@127\\.0\\.0\\.1:${db.mappedPort}/app_fork\\d+$`));
    // the configured user may use a fork; the copy keeps keys, counters, the trigger and the view
    const ca = await mysql.createConnection(a);
    await ca.query("INSERT INTO customer (name) VALUES ('only in a')");
    await ca.query('INSERT INTO orders (customer_id, total) VALUES (2, 900)');
    expect((await ca.query('SELECT id, name, upper_name FROM customer ORDER BY id'))[0]).toEqual([
      { id: 1, name: 'ada', upper_name: 'ADA' },
      { id: 2, name: 'only in a', upper_name: 'ONLY IN A' },
    ]);
    expect((await ca.query('SELECT what FROM audit ORDER BY what'))[0]).toEqual([{ what: 'order 1' }, { what: 'order 2' }]);
    expect((await ca.query('SELECT name FROM big_orders ORDER BY id'))[0]).toEqual([{ name: 'ada' }, { name: 'only in a' }]);
    await expect(ca.query('INSERT INTO orders (customer_id, total) VALUES (99, 1)')).rejects.toThrow(/foreign key constraint fails/);
    await ca.end();
    expect(await rows(b, 'SELECT name FROM customer ORDER BY id')).toEqual([{ name: 'ada' }]);
    expect(await rows(b, 'SELECT name FROM big_orders')).toEqual([{ name: 'ada' }]);
    // the database itself, written to by an open session, then restored: the session is ended
    const app = await mysql.createConnection(db.connectionString());
    app.on('error', () => {});
    await app.query("INSERT INTO customer (name) VALUES ('written by a test')");
    await db.restore();
    await expect(app.query('SELECT 1')).rejects.toThrow();
    app.destroy();
    expect(await rows(db.connectionString(), 'SELECT name FROM customer ORDER BY id')).toEqual([{ name: 'ada' }]);
    // the snapshot is not the application user's to see
    expect(await rows(db.connectionString(), "SHOW DATABASES LIKE 'mayfly%'")).toEqual([]);
    await db.dropFork(a);
    await expect(rows(a, 'SELECT 1')).rejects.toThrow(/Unknown database|access denied/i);
    const missing = await caught(db.restore('nope'));
    expect(missing.code).toBe('SNAPSHOT_NOT_FOUND');
    expect((await caught(db.fork({ name: 'bad-name' }))).message).toMatch(/name "bad-name" is not 1 to 64 letters/);
  }, 240_000);

  it('refuses wrong options before anything starts, naming the field', async () => {
    const e = await caught(presets.mysql({ tag: 'bad tag', password: '', database: 'no-dashes', config: { 'bad name': 1 }, typo: true } as never));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('presets.mysql options');
    for (const field of [/tag: /, /password: /, /database: expected 1 to 64 letters/, /config/, /typo/]) expect(e.message).toMatch(field);
    expect((await caught(presets.mariadb({ initScripts: '/nonexistent' }))).message).toMatch(/presets\.mariadb options[\s\S]*initScripts: no such directory/);
  });
});
