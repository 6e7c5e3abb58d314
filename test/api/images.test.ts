/**
 * The image, network and volume endpoints at the protocol level, where the docker CLI hides what
 * other clients read: the progress stream's messages, an error in the middle of a stream,
 * credentials in X-Registry-Auth, prune and its filters, connect of a running container, and
 * bad input answered with Docker's status and a message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerHost } from '../../src/api/socket-path.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { homeProcesses } from '../support/leftovers.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { dockerEnv } from './docker-clients.js';

const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
const tag = `${process.pid}`;
const IMAGE = `${REGISTRY}/api-proto/busybox:${tag}`;
const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
let socketPath: string;
let secured: StartedRegistry;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** the body's JSON lines (a stream) */
  lines: Record<string, unknown>[];
  json: () => unknown;
}

function api(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; version?: string } = {}): Promise<Answer> {
  const payload = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path: `/v${opts.version ?? '1.41'}${path}`, headers: { 'Content-Type': 'application/json', ...(payload ? { 'Content-Length': String(payload.length) } : {}), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body,
          text,
          get lines() {
            return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
          },
          json: () => JSON.parse(text) as unknown,
        });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const auth = (o: Record<string, string>) => Buffer.from(JSON.stringify(o)).toString('base64url');

beforeAll(async () => {
  await dockerEnv();
  socketPath = dockerHost(process.env.MAYFLY_HOME!).slice('unix://'.length);
  await pushImage(`http://${REGISTRY}`, 'api-proto/busybox', tag, [await tarOfDir(BUSYBOX)], { Cmd: ['sh'], Labels: { 'test.proto': tag } });
  secured = await startRegistry('basic');
}, 120_000);
afterAll(() => secured?.stop());

describe('POST /images/create', () => {
  it("streams Docker's progress messages: per layer by short digest, then the digest and the status", async () => {
    const r = await api('POST', `/images/create?fromImage=${encodeURIComponent(`${REGISTRY}/api-proto/busybox`)}&tag=${tag}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.lines[0]).toEqual({ status: 'Pulling from api-proto/busybox', id: tag });
    const layerLines = r.lines.filter((l) => typeof l.id === 'string' && /^[0-9a-f]{12}$/.test(l.id));
    expect(layerLines.length).toBeGreaterThan(0);
    expect(layerLines.every((l) => typeof l.status === 'string' && typeof l.progressDetail === 'object')).toBe(true);
    expect(layerLines.at(-1)!.status).toMatch(/^(Pull complete|Already exists)$/);
    expect(r.lines.at(-2)!.status).toMatch(/^Digest: sha256:[0-9a-f]{64}$/);
    expect(r.lines.at(-1)!.status).toMatch(new RegExp(`^Status: (Downloaded newer image|Image is up to date) for ${IMAGE}$`));
  });

  it('answers a missing image with 404 and a message, before any stream', async () => {
    const r = await api('POST', `/images/create?fromImage=${encodeURIComponent(`${REGISTRY}/api-proto/missing`)}&tag=1`);
    expect(r.status).toBe(404);
    expect((r.json() as { message: string }).message).toContain('api-proto/missing');
    expect((await api('POST', '/images/create')).status).toBe(400);
  });

  it('uses the credentials of X-Registry-Auth to push and pull, and fails without them', async () => {
    const name = `${secured.host}/api-proto/private:${tag}`;
    expect((await api('POST', `/images/${encodeURIComponent(IMAGE)}/tag?repo=${encodeURIComponent(`${secured.host}/api-proto/private`)}&tag=${tag}`)).status).toBe(201);
    const denied = await api('POST', `/images/${secured.host}/api-proto/private/push?tag=${tag}`, { headers: { 'X-Registry-Auth': auth({}) } });
    // the error comes in the stream, as Docker sends it once the push has begun
    expect(denied.status).toBe(200);
    const failure = denied.lines.at(-1)!;
    expect(failure.error).toEqual((failure.errorDetail as { message: string }).message);
    const creds = { 'X-Registry-Auth': auth({ username: secured.username!, password: secured.password!, serveraddress: secured.host }) };
    const pushed = await api('POST', `/images/${secured.host}/api-proto/private/push?tag=${tag}`, { headers: creds });
    expect(pushed.lines.find((l) => l.error)).toBeUndefined();
    expect(pushed.lines.at(-1)).toMatchObject({ aux: { Tag: tag, Digest: expect.stringMatching(/^sha256:/) as unknown } });
    expect((await api('DELETE', `/images/${encodeURIComponent(name)}`)).json()).toEqual([{ Untagged: name }]);
    const anonymous = await api('POST', `/images/create?fromImage=${encodeURIComponent(`${secured.host}/api-proto/private`)}&tag=${tag}`);
    expect(anonymous.status).toBe(401);
    const pulled = await api('POST', `/images/create?fromImage=${encodeURIComponent(`${secured.host}/api-proto/private`)}&tag=${tag}`, { headers: creds });
    expect(pulled.lines.at(-1)!.status).toBe(`Status: Downloaded newer image for ${name}`);
    expect((await api('DELETE', `/images/${encodeURIComponent(name)}`)).status).toBe(200);
    expect((await api('POST', `/images/create?fromImage=x&tag=1`, { headers: { 'X-Registry-Auth': '%%%' } })).status).toBe(400);
  });
});

describe('POST /build', () => {
  it("pulls a private FROM image with the credentials of X-Registry-Config, and fails in the stream without them", async () => {
    const base = `${secured.host}/api-proto/base:${tag}`;
    const creds = { username: secured.username!, password: secured.password! };
    await api('POST', `/images/create?fromImage=${encodeURIComponent(IMAGE)}`);
    await api('POST', `/images/${encodeURIComponent(IMAGE)}/tag?repo=${encodeURIComponent(`${secured.host}/api-proto/base`)}&tag=${tag}`);
    const pushed = await api('POST', `/images/${secured.host}/api-proto/base/push?tag=${tag}`, { headers: { 'X-Registry-Auth': auth(creds) } });
    expect(pushed.lines.find((l) => l.error)).toBeUndefined();
    await api('DELETE', `/images/${encodeURIComponent(base)}`);

    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-proto-build-'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${base}\nLABEL from.private=yes\n`);
    const context = await tarOfDir(ctx);
    const headers = { 'Content-Type': 'application/x-tar' };
    const denied = await api('POST', `/build?t=api-proto/private-child:${tag}`, { body: context, headers });
    expect(denied.status).toBe(200);
    expect(denied.lines.at(-1)!.errorDetail).toBeDefined();
    const config = Buffer.from(JSON.stringify({ [secured.host]: creds })).toString('base64');
    const built = await api('POST', `/build?t=api-proto/private-child:${tag}&labels=${encodeURIComponent(JSON.stringify({ 'test.proto.build': tag }))}`, { body: context, headers: { ...headers, 'X-Registry-Config': config } });
    expect(built.lines.find((l) => l.error)).toBeUndefined();
    const id = (built.lines.find((l) => l.aux)!.aux as { ID: string }).ID;
    expect(built.lines.map((l) => l.stream).join('')).toContain(`Successfully built ${id.slice(7, 19)}`);
    const doc = (await api('GET', `/images/api-proto/private-child:${tag}/json`)).json() as { Id: string; Config: { Labels: Record<string, string> } };
    expect(doc.Id).toBe(id);
    expect(doc.Config.Labels).toMatchObject({ 'from.private': 'yes', 'test.proto.build': tag });
    await api('DELETE', `/images/api-proto/private-child:${tag}`);
    await api('DELETE', `/images/${encodeURIComponent(base)}`);
  });
});

describe('POST /build, cancelled', () => {
  it('stops the build and its RUN container when the client goes away', async () => {
    const marker = `9${tag}`;
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-proto-cancel-'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${IMAGE}\nRUN echo started; sleep ${marker}\n`);
    await api('POST', `/images/create?fromImage=${encodeURIComponent(IMAGE)}`);
    const context = await tarOfDir(ctx);
    const sleeping = () => homeProcesses(process.env.MAYFLY_HOME!).some((p) => p.cmd === `sleep ${marker}` || p.cmd.endsWith(`; sleep ${marker}`));
    const req = request({ socketPath, method: 'POST', path: '/v1.41/build?nocache=1', headers: { 'Content-Type': 'application/x-tar', 'Content-Length': String(context.length) } });
    req.on('error', () => {});
    let seen = '';
    req.on('response', (res) => res.on('data', (d: Buffer) => (seen += d.toString())));
    req.end(context);
    await until(() => seen.includes('started') && sleeping(), 20_000, 'the RUN step to run');
    req.destroy();
    await until(() => !sleeping(), 10_000, 'the RUN container to go');
  });
});

describe('images: list, inspect, history, get, prune', () => {
  it('lists with filters, inspects, gives history, saves by names', async () => {
    await api('POST', `/images/create?fromImage=${encodeURIComponent(IMAGE)}`);
    const listed = (await api('GET', `/images/json?filters=${encodeURIComponent(JSON.stringify({ label: [`test.proto=${tag}`] }))}`)).json() as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ RepoTags: [IMAGE], Labels: { 'test.proto': tag }, Containers: 0 });
    expect(typeof listed[0]!.Created).toBe('number');
    const doc = (await api('GET', `/images/${IMAGE}/json`)).json() as { Id: string };
    expect(doc.Id).toBe(listed[0]!.Id);
    expect((await api('GET', `/images/${doc.Id.slice(7, 19)}/json`)).status).toBe(200);
    expect((await api('GET', '/images/api-proto/none:1/json')).status).toBe(404);
    const history = (await api('GET', `/images/${IMAGE}/history`)).json() as { Id: string; Tags: string[] | null }[];
    expect(history[0]).toMatchObject({ Id: doc.Id, Tags: [IMAGE] });
    const saved = await api('GET', `/images/get?names=${encodeURIComponent(IMAGE)}`);
    expect(saved.status).toBe(200);
    expect(saved.headers['content-type']).toBe('application/x-tar');
    expect(saved.body.subarray(257, 262).toString()).toBe('ustar');
    expect((await api('GET', `/images/get?names=api-proto/none:1`)).status).toBe(404);
  });

  it('prunes the images no container uses, narrowed by label; removal of a used image is a 409', async () => {
    const extra = `api-proto/prunable:${tag}`;
    await api('POST', `/images/${encodeURIComponent(IMAGE)}/tag?repo=api-proto/prunable&tag=${tag}`);
    const pruned = (await api('POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ['false'], label: [`test.proto=${tag}`] }))}`)).json() as { ImagesDeleted: Record<string, string>[] };
    expect(pruned.ImagesDeleted).toEqual(expect.arrayContaining([{ Untagged: extra }, { Untagged: IMAGE }]));
    expect((await api('GET', `/images/${IMAGE}/json`)).status).toBe(404);

    await api('POST', `/images/create?fromImage=${encodeURIComponent(IMAGE)}`);
    const name = `api-proto-user-${tag}`;
    const run = spawnSync(process.execPath, [BIN, 'run', '-d', '--name', name, IMAGE, 'sleep', '300'], { encoding: 'utf8', env: process.env });
    expect(run.status, run.stderr).toBe(0);
    try {
      const removal = await api('DELETE', `/images/${encodeURIComponent(IMAGE)}`);
      expect(removal.status).toBe(409);
      expect((removal.json() as { message: string }).message).toContain(name);
      const kept = (await api('POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ['false'], label: [`test.proto=${tag}`] }))}`)).json() as { ImagesDeleted: unknown };
      expect(kept.ImagesDeleted).toBeNull();
    } finally {
      spawnSync(process.execPath, [BIN, 'rm', '-f', name], { env: process.env });
    }
  });
});

describe('networks: connect and disconnect a running container; bad input', () => {
  it('joins a running container to a network with an alias, shows it in inspect, lets it go', async () => {
    const net = `api-proto-net-${tag}`;
    const created = await api('POST', '/networks/create', { body: { Name: net, CheckDuplicate: true, Driver: 'bridge', Labels: { 'test.proto': tag } } });
    expect(created.status).toBe(201);
    const { Id } = created.json() as { Id: string };
    const name = `api-proto-c-${tag}`;
    const run = spawnSync(process.execPath, [BIN, 'run', '-d', '--name', name, '--rootfs', BUSYBOX, '--', 'sleep', '300'], { encoding: 'utf8', env: process.env });
    expect(run.status, run.stderr).toBe(0);
    try {
      expect((await api('POST', `/networks/${Id}/connect`, { body: { Container: name, EndpointConfig: { Aliases: ['db'] } } })).status).toBe(200);
      const doc = (await api('GET', `/networks/${net}`)).json() as { Containers: Record<string, { Name: string; IPv4Address: string }> };
      const members = Object.values(doc.Containers);
      expect(members).toHaveLength(1);
      expect(members[0]).toMatchObject({ Name: name, IPv4Address: expect.stringMatching(/^10\.89\.\d+\.\d+\/24$/) as unknown });
      const inUse = await api('DELETE', `/networks/${net}`);
      expect(inUse.status).toBe(403);
      expect((inUse.json() as { message: string }).message).toContain(name);
      expect((await api('POST', `/networks/${net}/disconnect`, { body: { Container: name } })).status).toBe(200);
      expect(Object.keys(((await api('GET', `/networks/${net}`)).json() as { Containers: object }).Containers)).toHaveLength(0);
      expect((await api('POST', `/networks/${net}/connect`, { body: { Container: 'api-proto-nobody' } })).status).toBe(404);
      expect((await api('POST', '/networks/host/connect', { body: { Container: name } })).status).toBe(403);
    } finally {
      spawnSync(process.execPath, [BIN, 'rm', '-f', name], { env: process.env });
    }
    expect((await api('DELETE', `/networks/${Id.slice(0, 12)}`)).status).toBe(204);
    expect((await api('GET', `/networks/${net}`)).status).toBe(404);
  });

  it("answers bad bodies and unknown names with Docker's statuses", async () => {
    expect((await api('POST', '/networks/create', { body: '{"Name": ' })).status).toBe(400);
    expect((await api('POST', '/networks/create', { body: { Name: 'x', Driver: 'overlay' } })).status).toBe(400);
    expect((await api('POST', '/networks/create', { body: { Name: 'bridge' } })).status).toBe(400);
    expect((await api('DELETE', '/networks/api-proto-none')).status).toBe(404);
    expect((await api('DELETE', '/volumes/api-proto-none')).status).toBe(404);
    expect((await api('DELETE', '/volumes/a%20b')).status).toBe(404);
    expect((await api('POST', '/volumes/create', { body: { Name: 'x', Driver: 'nfs' } })).status).toBe(400);
    expect((await api('POST', '/build?buildargs=notjson', { body: Buffer.alloc(1024) })).status).toBe(400);
    // a body that is no archive is a Dockerfile sent alone, as Docker reads it: here not a valid one
    const notDockerfile = await api('POST', '/build', { body: Buffer.from('not a tar at all'), headers: { 'Content-Type': 'application/x-tar' } });
    expect(notDockerfile.lines.at(-1)!.errorDetail).toBeDefined();
    const badGzip = await api('POST', '/build', { body: Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]), headers: { 'Content-Type': 'application/x-tar' } });
    expect(badGzip.status).toBe(400);
    const remote = await api('POST', '/build?remote=https://example.com/repo.git');
    expect(remote.status).toBe(501);
  });

  it('volumes: an unnamed one gets a random name; one in use is a 409; prune by label', async () => {
    const created = await api('POST', '/volumes/create', { body: { Labels: { 'test.proto': tag } } });
    expect(created.status).toBe(201);
    const { Name } = created.json() as { Name: string };
    expect(Name).toMatch(/^[0-9a-f]{64}$/);
    const listed = (await api('GET', `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: [`test.proto=${tag}`] }))}`)).json() as { Volumes: { Name: string }[]; Warnings: unknown[] };
    expect(listed.Volumes.map((v) => v.Name)).toEqual([Name]);
    const name = `api-proto-v-${tag}`;
    const run = spawnSync(process.execPath, [BIN, 'run', '-d', '--name', name, '-v', `${Name}:/data`, '--rootfs', BUSYBOX, '--', 'sleep', '300'], { encoding: 'utf8', env: process.env });
    expect(run.status, run.stderr).toBe(0);
    try {
      expect((await api('DELETE', `/volumes/${Name}`)).status).toBe(409);
      expect(((await api('POST', `/volumes/prune?filters=${encodeURIComponent(JSON.stringify({ label: [`test.proto=${tag}`] }))}`)).json() as { VolumesDeleted: string[] }).VolumesDeleted).toEqual([]);
    } finally {
      spawnSync(process.execPath, [BIN, 'rm', '-f', name], { env: process.env });
    }
    // a client of API 1.42 or later prunes named volumes only when it says `all`
    const prune = (version: string, filters: Record<string, string[]>) => api('POST', `/volumes/prune?filters=${encodeURIComponent(JSON.stringify(filters))}`, { version });
    expect(((await prune('1.44', { label: [`test.proto=${tag}`] })).json() as { VolumesDeleted: string[] }).VolumesDeleted).toEqual([]);
    expect(((await prune('1.44', { label: [`test.proto=${tag}`], all: ['true'] })).json() as { VolumesDeleted: string[] }).VolumesDeleted).toEqual([Name]);
  });
});
