/**
 * Testcontainers for Node, unmodified, against mayfly's Docker Engine API (DOCKER_HOST=unix://…),
 * written the way its users write it: GenericContainer with each wait strategy, exec, copies in and
 * out, logs, networks with aliases, reuse, the PostgreSQL and Redis modules' connection helpers,
 * and Ryuk — a client killed without cleanup leaves nothing behind. Images come from the run's
 * registry (docker.io mirrored to it), pulled over the API as Testcontainers pulls them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerApiSocket } from '../support/docker-api.js';
import { presetImagesReady, usePresetImages } from '../support/preset-images.js';
import { until } from '../support/runtime.js';
import { HTTP_PORT, TC_IMAGE } from '../support/tc-images.js';

usePresetImages();
let docker: Docker;
let socket = '';
let major: Record<string, string> = {};
let server: StartedTestContainer;
// loaded once the preset images are published: importing testcontainers installs undici's global
// dispatcher, whose checks the publishing's registry uploads do not pass
let GenericContainer: typeof import('testcontainers').GenericContainer;
let Network: typeof import('testcontainers').Network;
let Wait: typeof import('testcontainers').Wait;
let PostgreSqlContainer: typeof import('@testcontainers/postgresql').PostgreSqlContainer;
let RedisContainer: typeof import('@testcontainers/redis').RedisContainer;

beforeAll(async () => {
  socket = await dockerApiSocket();
  process.env.DOCKER_HOST = `unix://${socket}`;
  process.env.TESTCONTAINERS_REUSE_ENABLE = 'true';
  // In a container (/.dockerenv, as this machine and CI jobs are), Testcontainers takes the bridge
  // network's gateway for the Docker host; mayfly's bridge lives in its rootless sandbox and ports
  // are published on this machine's loopback: the documented override says so (README).
  if (existsSync('/.dockerenv')) process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
  docker = new Docker({ socketPath: socket });
  major = Object.fromEntries((await presetImagesReady()).map((i) => [i.name, i.tags.find((t) => /^\d+$/.test(t))!]));
  ({ GenericContainer, Network, Wait } = await import('testcontainers'));
  ({ PostgreSqlContainer } = await import('@testcontainers/postgresql'));
  ({ RedisContainer } = await import('@testcontainers/redis'));
  // the default wait: its ports listening (checked inside the container, then from the host)
  server = await new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT).start();
}, 300_000);

afterAll(async () => {
  await server?.stop();
  if (!docker) return;
  // this process's Ryuk stand-in would go 10 s after we end; the run's leak check comes sooner
  for (const c of await docker.listContainers({ all: true, filters: { name: ['testcontainers-ryuk-'] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
});

const url = (c: StartedTestContainer, path: string) => `http://${c.getHost()}:${c.getMappedPort(HTTP_PORT)}${path}`;

describe('GenericContainer', () => {
  it('starts with its ports listening, and serves on the mapped port', async () => {
    expect((await fetch(url(server, '/hello-world'))).status).toBe(200);
    expect(server.getHost()).toBe('localhost');
    expect((await docker.getContainer(server.getId()).inspect()).Config.Labels['org.testcontainers']).toBe('true');
  });

  it('execs commands: output, stdout, stderr and the exit code; as another user, in another directory', async () => {
    expect(await server.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    expect((await server.exec(['pwd'], { workingDir: '/tmp' })).output).toBe('/tmp\n');
    expect((await server.exec(['whoami'], { user: 'node' })).output).toBe('node\n');
    expect((await server.exec(['sh', '-c', 'echo $GREETING'], { env: { GREETING: 'hi' } })).output).toBe('hi\n');
  });

  it('copies content and files in, and archives out', async () => {
    await server.copyContentToContainer([{ content: 'hello from the test\n', target: '/tmp/copied/hello.txt' }]);
    expect((await server.exec(['cat', '/tmp/copied/hello.txt'])).output).toBe('hello from the test\n');
    const archive = await server.copyArchiveFromContainer('/tmp/copied/hello.txt');
    const chunks: Buffer[] = [];
    for await (const c of archive) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('latin1')).toContain('hello from the test');
  });

  it('copies files in before the start (there when it starts), and out of a stopped container', async () => {
    const c = await new GenericContainer(TC_IMAGE)
      .withCopyContentToContainer([{ content: 'ready from a copied file\n', target: '/etc/app/message.txt' }])
      .withCommand(['sh', '-c', 'cat /etc/app/message.txt; ls -ld /etc | cut -c1-10; exec sleep 300'])
      .withWaitStrategy(Wait.forLogMessage('ready from a copied file'))
      .start();
    const logs: string[] = [];
    const stream = await c.logs();
    stream.on('data', (d: string) => logs.push(d));
    // the image's /etc keeps its mode: the copy's parents are the image's, not new directories
    await until(() => logs.join('').includes('drwxr-xr-x'));
    stream.destroy();
    const stopped = await c.stop({ remove: false });
    const chunks: Buffer[] = [];
    for await (const chunk of await stopped.copyArchiveFromContainer('/etc/app/message.txt')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString('latin1')).toContain('ready from a copied file');
    await docker.getContainer(c.getId()).remove();
  });

  it('streams its logs', async () => {
    const stream = await server.logs();
    const lines: string[] = [];
    stream.on('data', (d: string) => lines.push(d));
    await until(() => lines.join('').includes('Listening on port 8080'));
    stream.destroy();
  });

  it('waits for a log message, for HTTP, for a health check, and for a one-shot command', async () => {
    const [byLog, byHttp, byHealth] = await Promise.all([
      new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT).withWaitStrategy(Wait.forLogMessage(/Listening on port 8080/)).start(),
      new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT).withWaitStrategy(Wait.forHttp('/hello-world', HTTP_PORT).forStatusCode(200)).start(),
      new GenericContainer(TC_IMAGE)
        .withExposedPorts(HTTP_PORT)
        .withHealthCheck({ test: ['CMD-SHELL', `curl -fs http://localhost:${HTTP_PORT}/hello-world`], interval: 1000, timeout: 3000, retries: 5 })
        .withWaitStrategy(Wait.forHealthCheck())
        .start(),
    ]);
    try {
      for (const c of [byLog, byHttp, byHealth]) expect(await (await fetch(url(c, '/hello-world'))).text()).toBe('hello-world');
      expect((await docker.getContainer(byHealth.getId()).inspect()).State.Health?.Status).toBe('healthy');
    } finally {
      await Promise.all([byLog.stop(), byHttp.stop(), byHealth.stop()]);
    }
    const oneShot = await new GenericContainer(TC_IMAGE).withCommand(['sh', '-c', 'echo done']).withWaitStrategy(Wait.forOneShotStartup()).start();
    expect((await docker.getContainer(oneShot.getId()).inspect()).State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    await oneShot.stop();
    await expect(new GenericContainer(TC_IMAGE).withCommand(['sh', '-c', 'exit 1']).withWaitStrategy(Wait.forOneShotStartup()).withStartupTimeout(20_000).start()).rejects.toThrow();
  }, 120_000);

  it('reaches a container on a network by its alias', async () => {
    const network = await new Network().start();
    const web = await new GenericContainer(TC_IMAGE).withNetwork(network).withNetworkAliases('web').withExposedPorts(HTTP_PORT).start();
    const client = await new GenericContainer(TC_IMAGE).withNetwork(network).withExposedPorts(HTTP_PORT).start();
    try {
      expect(await client.exec(['curl', '-fs', `http://web:${HTTP_PORT}/hello-world`])).toMatchObject({ exitCode: 0, output: 'hello-world' });
    } finally {
      await Promise.all([client.stop(), web.stop()]);
      await network.stop();
    }
  }, 60_000);

  it('reuses a container started with withReuse()', async () => {
    const a = await new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT).withReuse().withLabels({ 'test.kind': 'reuse' }).start();
    const b = await new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT).withReuse().withLabels({ 'test.kind': 'reuse' }).start();
    try {
      expect(b.getId()).toBe(a.getId());
    } finally {
      await docker.getContainer(a.getId()).remove({ force: true });
    }
  }, 60_000);
});

describe('modules', () => {
  it('PostgreSqlContainer: its connection URI takes queries', async () => {
    await using db = await new PostgreSqlContainer(`postgres:${major.postgres}`).withDatabase('shop').withUsername('app').withPassword('secret').start();
    const client = new pg.Client({ connectionString: db.getConnectionUri() });
    await client.connect();
    try {
      expect((await client.query<{ db: string }>('select current_database() as db')).rows).toEqual([{ db: 'shop' }]);
    } finally {
      await client.end();
    }
  }, 120_000);

  it('RedisContainer: its connection URL answers', async () => {
    await using redis = await new RedisContainer(`redis:${major.redis}`).start();
    const client = new Redis(redis.getConnectionUrl());
    try {
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
    }
  }, 120_000);
});

describe('Ryuk', () => {
  it('removes the containers of a client killed without cleanup', async () => {
    const reapers = async () => (await docker.listContainers({ all: true, filters: { name: ['testcontainers-ryuk-'] } })).map((c) => c.Id);
    const ours = await reapers();
    const child = spawn(process.execPath, [join(import.meta.dirname, 'tc-client.mjs'), TC_IMAGE], {
      env: { ...process.env, DOCKER_HOST: `unix://${socket}`, TESTCONTAINERS_RYUK_RECONNECTION_TIMEOUT: '1s' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const id = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the client ended with ${code} before starting its container`)));
    });
    expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    const theirs = (await reapers()).filter((r) => !ours.includes(r));
    expect(theirs).toHaveLength(1);
    child.kill('SIGKILL');
    await until(async () => (await docker.listContainers({ all: true, filters: { id: [id] } })).length === 0, 30_000, "the killed client's container to go");
    // its Ryuk stand-in went too; ours (this process is alive) stays
    await until(async () => !(await reapers()).includes(theirs[0]!), 30_000, "the killed client's Ryuk to go");
    expect(await reapers()).toEqual(ours);
  }, 120_000);
});
