import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { container, Wait } from '../../src/harness/index.js';
import type { StartedContainer } from '../../src/harness/index.js';
import type { Container } from '../../src/engine/runtime.js';
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

async function logText(c: Container | StartedContainer): Promise<string> {
  return (await c.logs()).map((l) => l.line).join('\n');
}

describe("the presets' images, pulled through the docker.io mirror", () => {
  it('are in the registry as library/<name> with latest and version tags', async () => {
    for (const name of ['nginx', 'postgres', 'redis', 'mariadb', 'mysql']) {
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
      const logs = await logText(c);
      expect(logs).toContain('a new one needs a superuser password');
      expect(logs).toContain('Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE)');
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

  // Contract points of presets/images/*/README.md that the tests above do not reach

  it('postgres: *_FILE settings only root can read, every kind of init script in name order, POSTGRES_INITDB_ARGS; a restart keeps the cluster and runs nothing again', async () => {
    const initScripts = [
      { content: 'create table steps (n int, what text);\n', target: '/docker-entrypoint-initdb.d/01-schema.sql', mode: 0o644 },
      { content: gzipSync("insert into steps values (2, 'sql.gz');\n"), target: '/docker-entrypoint-initdb.d/02-rows.sql.gz', mode: 0o644 },
      // executed: its own process, as the user the server runs as
      { content: '#!/bin/sh\nset -e\npsql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "insert into steps values (3, \'executed as $(id -un)\')"\n', target: '/docker-entrypoint-initdb.d/03-executed.sh', mode: 0o755 },
      // sourced (not executable): runs in the entrypoint and may call its docker_process_sql
      { content: 'docker_process_sql -c "insert into steps values (4, \'sourced\')"\n', target: '/docker-entrypoint-initdb.d/04-sourced.sh', mode: 0o644 },
      { content: 'not a script\n', target: '/docker-entrypoint-initdb.d/05-notes.txt', mode: 0o644 },
    ];
    const c = await container('postgres:latest')
      .withEnvironment({ POSTGRES_PASSWORD_FILE: '/run/secrets/pg-password', POSTGRES_USER_FILE: '/run/secrets/pg-user', POSTGRES_DB: 'app', POSTGRES_INITDB_ARGS: '--data-checksums' })
      .withCopyContentToContainer([
        // root's alone (0600): the entrypoint reads them before it drops to the postgres user; a
        // trailing newline is not part of the value
        { content: 'from-a-file\n', target: '/run/secrets/pg-password', mode: 0o600 },
        { content: 'filed', target: '/run/secrets/pg-user', mode: 0o600 },
        ...initScripts,
      ])
      .withWaitStrategy(Wait.forSuccessfulCommand(['sh', '-c', 'PGPASSWORD=from-a-file psql -h 127.0.0.1 -U filed -d app -Xqc "select 1"']))
      .start();
    try {
      const psql = async (sql: string) => {
        const r = await c.exec(['psql', '-h', '127.0.0.1', '-U', 'filed', '-d', 'app', '-XtA', '-c', sql], { env: { PGPASSWORD: 'from-a-file' } });
        expect(r.stderr).toBe('');
        return r.stdout;
      };
      const steps = "select string_agg(n || ':' || what, ',' order by n) from steps";
      expect(await psql(steps)).toBe('2:sql.gz,3:executed as postgres,4:sourced\n');
      expect(await psql('show data_checksums')).toBe('on\n');
      const first = await logText(c);
      expect(first).toMatch(/skipping \/docker-entrypoint-initdb\.d\/05-notes\.txt/);
      expect(first).not.toContain('from-a-file'); // the password is never printed

      await c.restart();
      await eventually('the restarted server to answer', async () => ((await c.exec(['sh', '-c', 'PGPASSWORD=from-a-file psql -h 127.0.0.1 -U filed -d app -Xqc "select 1"'])).exitCode === 0 ? true : undefined));
      expect(await psql(steps)).toBe('2:sql.gz,3:executed as postgres,4:sourced\n'); // no script ran twice
      const all = await logText(c);
      expect(all).toContain('already holds a cluster');
      expect(all.match(/PostgreSQL init process complete/g)).toHaveLength(1);
    } finally {
      await c.remove();
    }
  }, 120_000);

  it('postgres: POSTGRES_HOST_AUTH_METHOD=trust needs no password, and lets TCP clients in without one', async () => {
    const c = await container('postgres:latest')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withWaitStrategy(Wait.forSuccessfulCommand(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-w', '-Xqc', 'select 1']))
      .start();
    try {
      expect((await c.exec(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-w', '-XtAc', 'select current_user'])).stdout).toBe('postgres\n');
      expect(await logText(c)).toContain('POSTGRES_HOST_AUTH_METHOD=trust: every client that reaches the port logs in without a password');
    } finally {
      await c.remove();
    }
  }, 120_000);

  it('postgres: a setting given twice (X and X_FILE) and a failing init script each stop the start with a non-zero exit', async () => {
    const both = await runtime().run({ image: 'postgres:latest', env: { POSTGRES_PASSWORD: 'a', POSTGRES_PASSWORD_FILE: '/etc/hostname' } });
    const failing = await container('postgres:latest')
      .withEnvironment({ POSTGRES_PASSWORD: 'a' })
      .withCopyContentToContainer([{ content: 'select * from no_such_table;\n', target: '/docker-entrypoint-initdb.d/01-broken.sql', mode: 0o644 }])
      .withWaitStrategy(Wait.none())
      .start();
    try {
      expect((await both.wait()).exitCode).toBe(1);
      expect(await logText(both)).toContain('POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are both set');
      expect((await failing.wait()).exitCode).not.toBe(0);
      const logs = await logText(failing);
      expect(logs).toContain('relation "no_such_table" does not exist');
      expect(logs).not.toContain('init process complete');
    } finally {
      await both.remove({ force: true });
      await failing.remove();
    }
  }, 120_000);

  it('redis: a config file or leading options go to redis-server; a protected-mode the user chose stays; what it writes is private', async () => {
    const withConf = await container('redis')
      .withCommand(['/etc/test-redis.conf', '--maxmemory', '7mb'])
      .withCopyContentToContainer([{ content: 'protected-mode yes\nport 6379\n', target: '/etc/test-redis.conf', mode: 0o644 }])
      .withWaitStrategy(Wait.forSuccessfulCommand(['sh', '-c', '[ "$(redis-cli ping)" = PONG ]']))
      .start();
    const withOptions = await container('redis')
      .withCommand(['--port', '6380'])
      .withWaitStrategy(Wait.forSuccessfulCommand(['sh', '-c', '[ "$(redis-cli -p 6380 ping)" = PONG ]']))
      .start();
    try {
      const cli = (c: StartedContainer, ...args: string[]) => c.exec(['redis-cli', ...args]).then((r) => r.stdout);
      expect(await cli(withConf, 'config', 'get', 'protected-mode')).toBe('protected-mode\nyes\n');
      expect(await cli(withConf, 'config', 'get', 'maxmemory')).toBe('maxmemory\n7340032\n');
      expect(await cli(withConf, 'save')).toBe('OK\n');
      expect((await withConf.exec(['stat', '-c', '%a %U', '/data/dump.rdb'])).stdout).toBe('600 redis\n');
      expect(await cli(withOptions, '-p', '6380', 'config', 'get', 'protected-mode')).toBe('protected-mode\nno\n');
      expect(await logText(withOptions)).toContain('Ready to accept connections');
    } finally {
      await withConf.remove();
      await withOptions.remove();
    }
  }, 60_000);

  it('nginx: templates rendered with the environment only (nginx variables kept, NGINX_ENVSUBST_FILTER honoured), *.envsh exports reach later hooks, non-executable hooks skipped', async () => {
    const c = await container('nginx')
      .withEnvironment({ GREETING: 'hello', MAYFLY_HIDDEN: 'secret', NGINX_ENVSUBST_FILTER: '^(GREETING|FROM_ENVSH)$' })
      .withCopyContentToContainer([
        { content: 'export FROM_ENVSH=envsh\n', target: '/docker-entrypoint.d/15-export.envsh', mode: 0o755 },
        { content: '#!/bin/sh\nexit 1\n', target: '/docker-entrypoint.d/16-not-executable.sh', mode: 0o644 },
        {
          content: 'server {\n    listen 8081;\n    default_type text/plain;\n    location / { return 200 "${GREETING} ${FROM_ENVSH} $request_uri\\n"; }\n}\n',
          target: '/etc/nginx/templates/greet.conf.template',
        },
        // a subfolder is mirrored (and, not being conf.d/*.conf, not read by nginx)
        { content: '${GREETING} ${MAYFLY_HIDDEN}\n', target: '/etc/nginx/templates/extra/filtered.txt.template' },
      ])
      .withExposedPorts(80, 8081)
      .start();
    try {
      const res = await fetch(c.url(8081, '/from/test'));
      expect(await res.text()).toBe('hello envsh /from/test\n');
      expect((await c.exec(['cat', '/etc/nginx/conf.d/extra/filtered.txt'])).stdout).toBe('hello ${MAYFLY_HIDDEN}\n');
      const logs = await logText(c);
      expect(logs).toContain('skipping /docker-entrypoint.d/16-not-executable.sh: not executable');
      expect(logs).toContain('sourcing /docker-entrypoint.d/15-export.envsh');
      expect(logs).toContain('Configuration complete; ready for start up');
    } finally {
      await c.remove();
    }
  }, 60_000);

  it('nginx: with IPv6 in the kernel the shipped default server listens on [::]:80 too; a default.conf of the user is left alone', async () => {
    const shipped = await container('nginx').withExposedPorts(80).start();
    const own = await container('nginx')
      .withCopyContentToContainer([{ content: 'server {\n    listen 80;\n    return 204;\n}\n', target: '/etc/nginx/conf.d/default.conf' }])
      .withExposedPorts(80)
      .start();
    try {
      expect((await shipped.exec(['test', '-e', '/proc/net/if_inet6'])).exitCode).toBe(0); // else this test proves nothing
      expect((await shipped.exec(['grep', '-c', 'listen \\[::\\]:80;', '/etc/nginx/conf.d/default.conf'])).stdout).toBe('1\n');
      const v6 = await shipped.exec(['bash', '-c', 'exec 3<>/dev/tcp/::1/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3']);
      expect(v6.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(v6.stdout).toContain('<title>Welcome to nginx!</title>');
      expect((await own.exec(['cat', '/etc/nginx/conf.d/default.conf'])).stdout).not.toContain('[::]');
      expect(await logText(own)).toContain('is not the shipped one: left as it is');
      expect((await fetch(own.url(80))).status).toBe(204);
    } finally {
      await shipped.remove();
      await own.remove();
    }
  }, 60_000);

  it('nginx: a failing hook stops the container before nginx starts; NGINX_ENTRYPOINT_QUIET_LOGS silences the rest; other commands run no hook', async () => {
    const broken = await container('nginx')
      .withEnvironment({ NGINX_ENTRYPOINT_QUIET_LOGS: '1' })
      .withCopyContentToContainer([{ content: '#!/bin/sh\necho "cannot configure" >&2\nexit 3\n', target: '/docker-entrypoint.d/50-broken.sh', mode: 0o755 }])
      .withWaitStrategy(Wait.none())
      .start();
    const other = await container('nginx').withCommand(['echo', 'just this']).withWaitStrategy(Wait.none()).start();
    try {
      expect((await broken.wait()).exitCode).toBe(3);
      const logs = await logText(broken);
      expect(logs).toContain('cannot configure');
      expect(logs).toContain('/docker-entrypoint.d/50-broken.sh failed (exit 3); not starting nginx');
      expect(logs).not.toMatch(/running|rendered|listen|Configuration complete/);
      expect((await other.wait()).exitCode).toBe(0);
      expect(await logText(other)).toBe('just this');
    } finally {
      await broken.remove();
      await other.remove();
    }
  }, 60_000);
});
