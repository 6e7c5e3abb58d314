/**
 * The Docker Engine API's protocol corners, with dockerode (the client Testcontainers for Node is
 * built on) and raw requests: hijacked exec with stdin, with and without a terminal; multiplexed
 * logs and attach; archives in and out; events; Docker's statuses and messages for bad input.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { c as tarCreate, t as tarList } from 'tar';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { dockerApiSocket, rawRequest } from '../support/docker-api.js';
import { BUSYBOX, isRoot, until } from '../support/runtime.js';

const IMAGE = `mayfly-test/api-busybox:${process.pid}`;
let socket = '';
let docker: Docker;
let sleeper: Docker.Container;
const scratch = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-protocol-'));

beforeAll(async () => {
  const rt = await sharedRuntime();
  await rt.importRootfs(BUSYBOX, IMAGE, { Cmd: ['sh'] });
  socket = await dockerApiSocket();
  docker = new Docker({ socketPath: socket });
  sleeper = await docker.createContainer({ Image: IMAGE, Cmd: ['sh', '-c', 'echo started; echo oops >&2; while :; do sleep 1; done'], Labels: { 'test.kind': 'protocol', suite: 'api' } });
  await sleeper.start();
}, 120_000);

afterAll(async () => {
  await sleeper?.remove({ force: true }).catch(() => {});
  await (await sharedRuntime()).rmi(IMAGE, { force: true }).catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
});

/** stdout and stderr of a multiplexed stream, apart */
async function demux(stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (d: Buffer) => o.push(d));
  err.on('data', (d: Buffer) => e.push(d));
  docker.modem.demuxStream(stream, out, err);
  await new Promise((r) => stream.on('end', r));
  return { stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

describe('system', () => {
  it('answers _ping, version and info honestly', async () => {
    expect(String(await docker.ping())).toBe('OK');
    const head = await rawRequest(socket, 'HEAD', '/_ping');
    expect(head.status).toBe(200);
    expect(head.headers['api-version']).toBe('1.44');
    const v = await docker.version();
    expect([v.ApiVersion, v.MinAPIVersion, v.Os]).toEqual(['1.44', '1.24', 'linux']);
    const info = await docker.info();
    expect(info.Driver).toMatch(/overlay|copy/);
    expect(info.SecurityOptions.includes('name=rootless')).toBe(!isRoot);
    expect(['1', '2']).toContain(info.CgroupVersion);
  });
});

const MAYFLY = join(import.meta.dirname, '../../bin/mayfly.js');

describe('mayfly docker-env and serve', () => {
  it('prints the DOCKER_HOST of this socket, and where /.dockerenv is seen the host Testcontainers must use', () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TESTCONTAINERS_HOST_OVERRIDE;
    const override = existsSync('/.dockerenv') ? 'export TESTCONTAINERS_HOST_OVERRIDE=localhost\n' : '';
    expect(execFileSync(process.execPath, [MAYFLY, 'docker-env'], { encoding: 'utf8', env })).toBe(`export DOCKER_HOST=unix://${socket}\n${override}`);
    // one the user set stays theirs
    expect(execFileSync(process.execPath, [MAYFLY, 'docker-env'], { encoding: 'utf8', env: { ...env, TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' } })).toBe(`export DOCKER_HOST=unix://${socket}\n`);
  });

  it('serves in the foreground, relaying on a loopback TCP port when asked, and on no other address', async () => {
    const serve = spawn(process.execPath, [MAYFLY, 'serve', '--tcp', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const ended = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: serve.stdout! }).once('line', resolve));
      const m = /^DOCKER_HOST=tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      expect(m).not.toBeNull();
      expect(String(await new Docker({ host: '127.0.0.1', port: Number(m![1]) }).ping())).toBe('OK');
    } finally {
      serve.kill('SIGTERM');
    }
    // it ends, relay and all (a listening relay once kept it alive after the run)
    expect(await ended).toBe(0);
    const open = spawnSync(process.execPath, [MAYFLY, 'serve', '--tcp', '0.0.0.0:2375'], { encoding: 'utf8' });
    expect(open.status).not.toBe(0);
    expect(open.stderr).toContain('only a loopback address');
  });
});

describe('containers', () => {
  it('inspects, lists with filters, and logs in multiplexed frames', async () => {
    const doc = await sleeper.inspect();
    expect(doc.State.Running).toBe(true);
    expect(doc.Config.Labels).toEqual({ 'test.kind': 'protocol', suite: 'api' });
    const byLabel = await docker.listContainers({ filters: { label: ['test.kind=protocol'] } });
    expect(byLabel.map((c) => c.Id)).toEqual([sleeper.id]);
    expect(await docker.listContainers({ filters: { label: ['test.kind=nothing'] } })).toEqual([]);
    expect((await docker.listContainers({ filters: { id: [sleeper.id.slice(0, 12)], status: ['running'] } })).length).toBe(1);
    expect((await docker.listContainers({ filters: { name: [doc.Name.slice(1)], status: ['exited'] } })).length).toBe(0);
    await until(async () => (await sleeper.logs({ stdout: true, stderr: true })).length > 0);
    const raw = await sleeper.logs({ stdout: true, stderr: true, follow: false });
    const frames: [number, string][] = [];
    for (let i = 0; i < raw.length; ) {
      const size = raw.readUInt32BE(i + 4);
      frames.push([raw[i]!, raw.subarray(i + 8, i + 8 + size).toString()]);
      i += 8 + size;
    }
    expect(frames).toEqual([
      [1, 'started\n'],
      [2, 'oops\n'],
    ]);
    const top = await sleeper.top();
    expect(top.Processes.map((p: string[]) => p[7])).toContain('sh -c echo started; echo oops >&2; while :; do sleep 1; done');
    const stats = await sleeper.stats({ stream: false });
    expect(stats.memory_stats.usage).toBeGreaterThan(0);
    expect(stats.pids_stats?.current).toBeGreaterThan(0);
    const stamped = (await sleeper.logs({ stdout: true, stderr: false, timestamps: true })).subarray(8).toString();
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started\n$/);
  });

  it('runs a one-shot container to its end: wait, followed logs, 304, 409 and 404', async () => {
    const c = await docker.createContainer({ Image: IMAGE, Cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.1; done; exit 7'] });
    await c.start();
    const follow = demux((await c.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream);
    expect(await c.wait()).toMatchObject({ StatusCode: 7 });
    expect((await follow).stdout).toBe('line1\nline2\nline3\n');
    expect((await c.inspect()).State).toMatchObject({ Status: 'exited', ExitCode: 7, Running: false });
    await expect(c.stop()).rejects.toMatchObject({ statusCode: 304 });
    await expect(c.kill()).rejects.toMatchObject({ statusCode: 409 });
    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404, json: { message: `No such container: ${c.id}` } });
    await expect(sleeper.remove()).rejects.toMatchObject({ statusCode: 409 });
  });

  it('attaches to a container with stdin open, as `docker run -i` does: input written and closed before the start', async () => {
    const c = await docker.createContainer({ Image: IMAGE, Cmd: ['cat'], OpenStdin: true, StdinOnce: true });
    try {
      const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const got = new PassThrough();
      const chunks: Buffer[] = [];
      got.on('data', (d: Buffer) => chunks.push(d));
      docker.modem.demuxStream(stream, got, got);
      stream.write('hello attach\n');
      stream.end();
      await c.start();
      expect(await c.wait()).toMatchObject({ StatusCode: 0 });
      await until(() => Buffer.concat(chunks).toString() === 'hello attach\n');
    } finally {
      await c.remove({ force: true });
    }
  });
});

describe('exec', () => {
  it('streams output and takes stdin on a hijacked connection; the exit code is inspected after', async () => {
    const exec = await sleeper.exec({ Cmd: ['sh', '-c', 'read line; echo "got $line"; echo bye >&2; exit 4'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    stream.write('ping\n');
    const out = await demux(stream);
    expect(out).toEqual({ stdout: 'got ping\n', stderr: 'bye\n' });
    expect(await exec.inspect()).toMatchObject({ Running: false, ExitCode: 4, ContainerID: sleeper.id });
  });

  it('gives a terminal with Tty: raw bytes, no frames', async () => {
    const exec = await sleeper.exec({ Cmd: ['sh', '-c', 'tty; echo done'], Tty: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => stream.on('end', r));
    expect(Buffer.concat(chunks).toString()).toMatch(/^\/dev\/pts\/\d+\r\ndone\r\n$/);
    expect((await exec.inspect()).ExitCode).toBe(0);
  });

  it('as Testcontainers starts it: not hijacked, a body left open', async () => {
    const exec = await sleeper.exec({ Cmd: ['echo', 'plain'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ stdin: true, Detach: false, Tty: false });
    expect((await demux(stream)).stdout).toBe('plain\n');
    expect((await exec.inspect()).ExitCode).toBe(0);
  });
});

describe('archives', () => {
  it('copies a tar in and a path out, with its stat', async () => {
    writeFileSync(join(scratch, 'hello.txt'), 'hello archive\n');
    const tarFile = join(scratch, 'in.tar');
    await tarCreate({ file: tarFile, cwd: scratch, portable: true }, ['hello.txt']);
    const { readFileSync } = await import('node:fs');
    await sleeper.putArchive(readFileSync(tarFile), { path: '/tmp' });
    const stat = await rawRequest(socket, 'HEAD', `/v1.44/containers/${sleeper.id}/archive?path=/tmp/hello.txt`);
    expect(stat.status).toBe(200);
    expect(JSON.parse(Buffer.from(String(stat.headers['x-docker-container-path-stat']), 'base64').toString())).toMatchObject({ name: 'hello.txt' });
    const out = await sleeper.getArchive({ path: '/tmp/hello.txt' });
    const entries: Record<string, string> = {};
    await new Promise<void>((resolve, reject) => {
      const parser = tarList({ onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on('data', (d: Buffer) => chunks.push(d));
        e.on('end', () => (entries[e.path] = Buffer.concat(chunks).toString()));
      } });
      out.pipe(parser).on('finish', resolve).on('error', reject);
    });
    expect(entries).toEqual({ 'hello.txt': 'hello archive\n' });
  });

  it('refuses path tricks: .. in the path, entries outside the target, a missing directory', async () => {
    const dotdot = await rawRequest(socket, 'GET', `/containers/${sleeper.id}/archive?path=/tmp/../../etc/passwd`);
    expect(dotdot.status).toBe(400);
    expect(JSON.parse(dotdot.body).message).toMatch(/\.\./);
    const evil = join(scratch, 'evil');
    writeFileSync(join(scratch, 'payload'), 'x');
    // an entry named ../payload, as a hostile client writes it
    await tarCreate({ file: evil, cwd: scratch, portable: true, preservePaths: true }, ['../' + scratch.split('/').at(-1) + '/payload']);
    const { readFileSync } = await import('node:fs');
    const refused = await rawRequest(socket, 'PUT', `/containers/${sleeper.id}/archive?path=/tmp`, readFileSync(evil), { 'Content-Type': 'application/x-tar' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).message).toMatch(/outside its target/);
    const missing = await rawRequest(socket, 'GET', `/containers/${sleeper.id}/archive?path=/no/such/file`);
    expect(missing.status).toBe(404);
  });
});

describe('events', () => {
  it('streams the lifecycle of a container: create, start, die, destroy', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const c = await docker.createContainer({ Image: IMAGE, Cmd: ['true'], Labels: { 'test.kind': 'events' } });
    await c.start();
    await c.wait();
    await c.remove();
    const stream = (await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { container: [c.id], type: ['container'] } })) as unknown as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => stream.on('end', r));
    const actions = Buffer.concat(chunks).toString().trim().split('\n').map((l) => (JSON.parse(l) as { Action: string }).Action);
    expect(actions).toEqual(['create', 'start', 'die', 'destroy']);
  });
});

describe('bad input', () => {
  it('answers as Docker does: 400 malformed JSON, unknown fields ignored, 501 named, 413, 404, old versions', async () => {
    const malformed = await rawRequest(socket, 'POST', '/v1.44/containers/create', '{"Image": ', { 'Content-Type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body).message).toMatch(/not valid JSON/);
    const unknown = await rawRequest(socket, 'POST', '/v1.44/containers/create', JSON.stringify({ Image: IMAGE, Cmd: ['true'], NoSuchField: { x: 1 } }), { 'Content-Type': 'application/json' });
    expect(unknown.status).toBe(201);
    await docker.getContainer((JSON.parse(unknown.body) as { Id: string }).Id).remove();
    const missing = await rawRequest(socket, 'POST', '/v1.44/containers/create', JSON.stringify({ Cmd: ['true'] }), { 'Content-Type': 'application/json' });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body).message).toMatch(/Image/);
    const unsupported = await rawRequest(socket, 'POST', '/v1.44/swarm/init', '{}');
    expect(unsupported.status).toBe(501);
    expect(JSON.parse(unsupported.body).message).toContain('POST /swarm/init');
    const big = await rawRequest(socket, 'POST', '/v1.44/containers/create', `{"Image":"${'x'.repeat(5 * 1024 * 1024)}"}`, { 'Content-Type': 'application/json' });
    expect(big.status).toBe(413);
    expect((await rawRequest(socket, 'GET', '/v1.44/containers/nope/json')).body).toBe('{"message":"No such container: nope"}');
    expect((await rawRequest(socket, 'GET', '/v1.12/version')).status).toBe(400);
    const noImage = await rawRequest(socket, 'POST', '/v1.44/containers/create', JSON.stringify({ Image: 'mayfly-test/never-pulled:1' }), { 'Content-Type': 'application/json' });
    expect(noImage.status).toBe(404);
    expect(JSON.parse(noImage.body).message).toBe('No such image: mayfly-test/never-pulled:1');
    // and the keeper still serves
    expect(String(await docker.ping())).toBe('OK');
  });
});
