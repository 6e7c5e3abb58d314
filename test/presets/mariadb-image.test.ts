import { gzipSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { container, Wait } from '../../src/harness/index.js';
import type { StartedContainer } from '../../src/harness/index.js';
import { usePresetImages } from '../support/preset-images.js';

// The MariaDB look-alike (presets/images/mariadb, its contract in README.md there) by the names
// suites use for the official images, `mariadb:11` and `mysql:8.4`, pulled through this run's
// docker.io mirror, and spoken to with mysql2 over the published port.
const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
usePresetImages();

async function output(c: StartedContainer): Promise<string> {
  return (await c.logs()).map((l) => l.line).join('\n');
}

function connect(c: StartedContainer, user: string, password: string, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ host: c.host, port: c.port(3306), user, password, ...(database ? { database } : {}) });
}

async function query<T>(conn: mysql.Connection, sql: string, values: unknown[] = []): Promise<T[]> {
  const [rows] = await conn.query(sql, values);
  return rows as T[];
}

describe('the MariaDB look-alike (mariadb:11, mysql:8.4)', () => {
  it('is one image under both names in the registry', async () => {
    const digest = async (repo: string, tag: string) => {
      const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      });
      expect(res.status).toBe(200);
      return res.headers.get('docker-content-digest');
    };
    const mariadb11 = await digest('library/mariadb', '11');
    expect(mariadb11).toMatch(/^sha256:/);
    for (const [repo, tag] of [['library/mariadb', 'latest'], ['library/mysql', '8.4'], ['library/mysql', '8'], ['library/mysql', 'latest']] as const) {
      expect(await digest(repo, tag)).toBe(mariadb11);
    }
  });

  it('mariadb:11: MARIADB_* settings (root password from a root-only file), every kind of init script, ready on its port for the configured user; SIGTERM stops it cleanly; a restart keeps the data and initialises nothing', async () => {
    const password = `p@ss w"rd's\\ok`; // quotes and a backslash: the entrypoint's SQL must quote them
    const c = await container('mariadb:11')
      .withEnvironment({ MARIADB_ROOT_PASSWORD_FILE: '/run/secrets/root-password', MARIADB_DATABASE: 'shop', MARIADB_USER: 'app', MARIADB_PASSWORD: password })
      .withCopyContentToContainer([
        { content: 'r00t-from-file\n', target: '/run/secrets/root-password', mode: 0o600 },
        // no USE: *.sql run in MARIADB_DATABASE
        { content: 'CREATE TABLE fruit (n INT, what VARCHAR(40));\n', target: '/docker-entrypoint-initdb.d/01-schema.sql', mode: 0o644 },
        { content: gzipSync("INSERT INTO fruit VALUES (2, 'sql.gz');\n"), target: '/docker-entrypoint-initdb.d/02-rows.sql.gz', mode: 0o644 },
        {
          content: '#!/bin/sh\nset -e\nmariadb -uroot -p"$MARIADB_ROOT_PASSWORD" shop -e "INSERT INTO fruit VALUES (3, \'executed as $(id -un)\')"\n',
          target: '/docker-entrypoint-initdb.d/03-executed.sh',
          mode: 0o755,
        },
        { content: 'docker_process_sql -e "INSERT INTO fruit VALUES (4, \'sourced\')"\n', target: '/docker-entrypoint-initdb.d/04-sourced.sh', mode: 0o644 },
        { content: 'not a script\n', target: '/docker-entrypoint-initdb.d/05-notes.txt', mode: 0o644 },
      ])
      .withExposedPorts(3306)
      .start();
    try {
      // no retry: the port opens only once the final server runs, so the first connection works
      const app = await connect(c, 'app', password, 'shop');
      try {
        expect(await query(app, 'SELECT n, what FROM fruit ORDER BY n')).toEqual([
          { n: 2, what: 'sql.gz' },
          { n: 3, what: 'executed as mysql' },
          { n: 4, what: 'sourced' },
        ]);
        expect(await query(app, 'SELECT CURRENT_USER() AS who, @@character_set_server AS cs, @@port AS port')).toEqual([{ who: 'app@%', cs: 'utf8mb4', port: 3306 }]);
        await expect(app.query('CREATE DATABASE other')).rejects.toMatchObject({ code: 'ER_DBACCESS_DENIED_ERROR' });
      } finally {
        await app.end();
      }
      const root = await connect(c, 'root', 'r00t-from-file');
      expect(await query(root, 'SELECT CURRENT_USER() AS who')).toEqual([{ who: 'root@%' }]);
      // nobody else: no anonymous account, no root without the password
      expect(await query(root, "SELECT CONCAT(User, '@', Host) AS account FROM mysql.user WHERE User IN ('', 'root', 'app') ORDER BY account")).toEqual([
        { account: 'app@%' },
        { account: 'root@%' },
        { account: 'root@localhost' },
      ]);
      await root.end();
      await expect(connect(c, 'root', 'wrong')).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });

      const first = await output(c);
      // the temporary server says it is ready too, on no port: why a log line or a ping is not readiness
      expect(first).toMatch(/ready for connections\.\s*\nVersion: .*port: 0\b/);
      expect(first).toMatch(/ready for connections\.\s*\nVersion: .*port: 3306\b/);
      expect(first).toContain('MariaDB init process done. Ready for start up.');
      expect(first).toContain('skipping /docker-entrypoint-initdb.d/05-notes.txt');
      expect(first).not.toContain('r00t-from-file');
      expect((await c.exec(['sh', '-c', 'echo $(cat /proc/1/comm) $(stat -c %U /proc/1)'])).stdout).toBe('mariadbd mysql\n');

      expect((await c.stop()).exitCode).toBe(0); // SIGTERM: a clean shutdown
      expect(await output(c)).toMatch(/Shutdown complete/);
      await c.restart();
      const again = await retryConnect(() => connect(c, 'app', password, 'shop'));
      expect(await query(again, 'SELECT COUNT(*) AS count FROM fruit')).toEqual([{ count: 3 }]); // no script ran twice
      await again.end();
      const all = await output(c);
      expect(all).toContain('already holds databases: starting them without initialisation');
      expect(all.match(/MariaDB init process done/g)).toHaveLength(1);
    } finally {
      await c.remove();
    }
  }, 120_000);

  it('mysql:8.4: MYSQL_* settings with a random root password, printed once; a user without a database', async () => {
    const c = await container('mysql:8.4')
      .withEnvironment({ MYSQL_RANDOM_ROOT_PASSWORD: 'yes', MYSQL_USER: 'tester', MYSQL_PASSWORD: 'pw' })
      .withExposedPorts(3306)
      .start();
    try {
      const generated = /GENERATED ROOT PASSWORD: (\S+)/.exec(await output(c))?.[1];
      expect(generated).toMatch(/^[A-Za-z0-9]{20,}$/);
      const root = await connect(c, 'root', generated!);
      expect(await query(root, 'SELECT CURRENT_USER() AS who')).toEqual([{ who: 'root@%' }]);
      await root.end();
      const tester = await connect(c, 'tester', 'pw');
      expect(await query(tester, 'SELECT CURRENT_USER() AS who, DATABASE() AS db')).toEqual([{ who: 'tester@%', db: null }]);
      await tester.end();
    } finally {
      await c.remove();
    }
  }, 120_000);

  it('MYSQL_ALLOW_EMPTY_PASSWORD: root logs in without one, over TCP too; MYSQL_ROOT_HOST=localhost keeps root off the network', async () => {
    const empty = await container('mysql:8.4').withEnvironment({ MYSQL_ALLOW_EMPTY_PASSWORD: 'yes', MYSQL_DATABASE: 'd' }).withExposedPorts(3306).start();
    const local = await container('mariadb:11').withEnvironment({ MARIADB_ROOT_PASSWORD: 'pw', MARIADB_ROOT_HOST: 'localhost' }).withExposedPorts(3306).start();
    try {
      const root = await connect(empty, 'root', '', 'd');
      expect(await query(root, 'SELECT DATABASE() AS db')).toEqual([{ db: 'd' }]);
      await root.end();
      expect(await output(empty)).toContain('root has no password');
      await expect(connect(local, 'root', 'pw')).rejects.toMatchObject({ code: 'ER_HOST_NOT_PRIVILEGED' });
      expect((await local.exec(['mariadb', '-uroot', '-ppw', '-NBe', 'SELECT CURRENT_USER()'])).stdout).toBe('root@localhost\n');
    } finally {
      await empty.remove();
      await local.remove();
    }
  }, 120_000);

  it('refuses to initialise without a decision about root, with a setting given twice, or with MYSQL_USER=root', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'creating them needs a decision about root\'s password'],
      [{ MYSQL_ROOT_PASSWORD: 'a', MYSQL_ROOT_PASSWORD_FILE: '/etc/hostname' }, 'MYSQL_ROOT_PASSWORD and MYSQL_ROOT_PASSWORD_FILE are both set'],
      [{ MYSQL_ROOT_PASSWORD: 'a', MYSQL_USER: 'root', MYSQL_PASSWORD: 'b' }, 'cannot be root'],
      [{ MYSQL_ROOT_PASSWORD: 'a', MYSQL_USER: 'u' }, 'the user needs a password'],
    ];
    for (const [env, message] of cases) {
      const c = await container('mariadb:11').withEnvironment(env).withWaitStrategy(Wait.none()).start();
      try {
        expect((await c.wait()).exitCode, JSON.stringify(env)).toBe(1);
        expect(await output(c)).toContain(message);
      } finally {
        await c.remove();
      }
    }
  }, 120_000);
});

/** After a restart the port opens again a little later: a few attempts, not a readiness wait. */
async function retryConnect(open: () => Promise<mysql.Connection>): Promise<mysql.Connection> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      return await open();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}
