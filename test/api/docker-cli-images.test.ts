/**
 * Debian's `docker` CLI, unmodified, against mayfly's Docker API: images (pull with progress,
 * images, inspect, history, tag, push to the run's registry, save/load, rmi), build from a
 * context, networks and volumes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { BUSYBOX } from '../support/runtime.js';
import { client, DOCKER, docker, dockerEnv, dockerOk } from './docker-clients.js';

const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
const tag = `${process.pid}`;
const IMAGE = `${REGISTRY}/api-cli/busybox:${tag}`;
let digest: string;

beforeAll(async () => {
  await dockerEnv();
  digest = await pushImage(`http://${REGISTRY}`, 'api-cli/busybox', tag, [await tarOfDir(BUSYBOX)], { Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { 'test.image': 'api-cli' } });
}, 120_000);

describe('docker pull / images / inspect / history / tag / push / save / load / rmi', () => {
  it('pulls with the progress Docker prints, lists and inspects the image', async () => {
    const pulled = await docker('pull', IMAGE);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain(`Digest: ${digest}`);
    expect(pulled.stdout).toMatch(/Status: (Downloaded newer image|Image is up to date) for /);
    expect(pulled.stdout.trim().split('\n').at(-1)).toBe(IMAGE);
    expect((await docker('pull', IMAGE)).stdout).toContain(`Status: Image is up to date for ${IMAGE}`);

    const listed = await dockerOk('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--filter', `reference=${REGISTRY}/api-cli/*`);
    expect(listed).toMatch(new RegExp(`^${IMAGE} [0-9a-f]{12}$`, 'm'));
    expect(await dockerOk('images', '-q', '--filter', 'label=test.image=api-cli')).toMatch(/^[0-9a-f]{12}\n/);
    expect(await dockerOk('images', '-q', '--filter', 'label=test.image=other')).toBe('');

    const [doc] = JSON.parse(await dockerOk('image', 'inspect', IMAGE)) as Record<string, unknown>[];
    expect(doc).toMatchObject({ RepoTags: [IMAGE], RepoDigests: [`${REGISTRY}/api-cli/busybox@${digest}`], Os: 'linux', Config: { Cmd: ['sh'], Labels: { 'test.image': 'api-cli' } }, RootFS: { Type: 'layers' } });
    expect(doc!.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await dockerOk('history', '-q', IMAGE)).trim().split('\n')[0]).toBe((doc!.Id as string).slice(7, 19));
  });

  it('names what is missing, with a failing exit', async () => {
    const missing = await docker('pull', `${REGISTRY}/api-cli/missing:1`);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('api-cli/missing');
    const rmi = await docker('rmi', `api-cli/never-pulled:${tag}`);
    expect(rmi.status).not.toBe(0);
    expect(rmi.stderr).toMatch(/no such image/i);
    expect((await docker('image', 'inspect', `api-cli/never-pulled:${tag}`)).status).not.toBe(0);
  });

  it('tags, pushes to the registry (same digest, layers already there), untags', async () => {
    const copy = `${REGISTRY}/api-cli/copy:${tag}`;
    await dockerOk('pull', IMAGE);
    await dockerOk('tag', IMAGE, copy);
    const pushed = await docker('push', copy);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain(`The push refers to repository [${REGISTRY}/api-cli/copy]`);
    expect(pushed.stdout).toMatch(/(Mounted from api-cli\/busybox|Layer already exists|Pushed)/);
    expect(pushed.stdout).toContain(`${tag}: digest: ${digest} size: `);
    const removed = await dockerOk('rmi', copy);
    expect(removed).toBe(`Untagged: ${copy}\n`);
    expect(await dockerOk('images', '-q', IMAGE)).not.toBe('');
  });

  it("searches a registry's catalog", async () => {
    const found = await dockerOk('search', '--format', '{{.Name}}', `${REGISTRY}/api-cli`);
    expect(found.split('\n')).toContain(`${REGISTRY}/api-cli/busybox`);
  });

  it('saves an image to a tar and loads it back', async () => {
    const name = `api-cli/saved:${tag}`;
    await dockerOk('pull', IMAGE);
    await dockerOk('tag', IMAGE, name);
    const file = join(mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'save-')), 'image.tar');
    await dockerOk('save', '-o', file, name);
    expect(await dockerOk('rmi', name)).toBe(`Untagged: ${name}\n`);
    expect(await dockerOk('load', '-i', file)).toBe(`Loaded image: ${name}\n`);
    expect(await dockerOk('images', '-q', name)).toMatch(/^[0-9a-f]{12}\n$/);
    await dockerOk('rmi', name);
  });
});

describe('docker build', () => {
  it('builds a Dockerfile from a context, with build args, and says what it built', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-build-'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${IMAGE}\nARG WHO=nobody\nCOPY hello.txt /hello.txt\nRUN echo "hi $WHO" > /greeting && cat /hello.txt\nLABEL built.by=api\nCMD ["cat", "/greeting"]\n`);
    writeFileSync(join(ctx, 'hello.txt'), 'from the context\n');
    const name = `api-cli/app:${tag}`;
    const built = await docker('build', '-t', name, '--build-arg', 'WHO=docker', ctx);
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain('Step 1/6 : FROM');
    expect(built.stdout).toContain('from the context');
    expect(built.stdout).toMatch(/Successfully built [0-9a-f]{12}/);
    expect(built.stdout).toContain(`Successfully tagged ${name}`);
    const [doc] = JSON.parse(await dockerOk('image', 'inspect', name)) as { Config: { Cmd: string[]; Labels: Record<string, string> } }[];
    expect(doc!.Config.Cmd).toEqual(['cat', '/greeting']);
    expect(doc!.Config.Labels['built.by']).toBe('api');
    // again: every step from the cache, the same image
    const again = await dockerOk('build', '-q', '-t', name, '--build-arg', 'WHO=docker', ctx);
    expect(again.trim()).toBe((JSON.parse(await dockerOk('image', 'inspect', name)) as { Id: string }[])[0]!.Id);
    // what was built goes to a registry: its own layers pushed, the base's already there
    const remote = `${REGISTRY}/api-cli/app:${tag}`;
    await dockerOk('tag', name, remote);
    const pushed = await dockerOk('push', remote);
    expect(pushed).toMatch(/: Pushed$/m);
    expect(pushed).toMatch(new RegExp(`^${tag}: digest: sha256:[0-9a-f]{64} size: \\d+$`, 'm'));
    await dockerOk('rmi', remote);
    await dockerOk('rmi', name);
  });

  it('takes a Dockerfile from outside the context (-f) and leaves out what .dockerignore names', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-build-'));
    const elsewhere = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-dockerfile-'));
    writeFileSync(join(elsewhere, 'Build.docker'), `FROM ${IMAGE}\nCOPY . /ctx/\nRUN ls -a /ctx | sort | tr '\\n' ' '\n`);
    writeFileSync(join(ctx, 'kept.txt'), 'kept\n');
    writeFileSync(join(ctx, 'secret.txt'), 'secret\n');
    writeFileSync(join(ctx, '.dockerignore'), 'secret.txt\n');
    const built = await docker('build', '--no-cache', '-f', join(elsewhere, 'Build.docker'), ctx);
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^\. \.\. \.dockerignore kept\.txt /m);
  });

  it('builds a Dockerfile sent alone on stdin (docker build -)', async () => {
    const built = await client(DOCKER, ['build', '-q', '-'], { input: `FROM ${IMAGE}\nRUN echo from stdin > /how\nCMD ["cat", "/how"]\n` });
    expect(built.status, built.stderr).toBe(0);
    const id = built.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(await dockerOk('image', 'inspect', '-f', '{{json .Config.Cmd}}', id))).toEqual(['cat', '/how']);
    await dockerOk('rmi', id);
  });

  it('reports a failing step as Docker does: the error printed, a failing exit', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-build-'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${IMAGE}\nRUN echo about to fail && exit 3\n`);
    const built = await docker('build', ctx);
    expect(built.status).not.toBe(0);
    expect(built.stdout).toContain('about to fail');
    expect(built.stderr).toMatch(/3/);
  });
});

describe('docker network / volume', () => {
  it('creates, lists, inspects and removes networks; the built-in ones are listed and kept', async () => {
    const net = `api-net-${tag}`;
    const id = (await dockerOk('network', 'create', '--label', `test.pid=${tag}`, net)).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ls = await dockerOk('network', 'ls', '--format', '{{.Name}} {{.Driver}}');
    for (const line of ['bridge bridge', 'host host', 'none null', `${net} bridge`]) expect(ls.split('\n')).toContain(line);
    const [doc] = JSON.parse(await dockerOk('network', 'inspect', id.slice(0, 12))) as Record<string, unknown>[];
    expect(doc).toMatchObject({ Name: net, Id: id, Driver: 'bridge', Labels: { 'test.pid': tag } });
    const dup = await docker('network', 'create', net);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toContain('already exists');
    const builtin = await docker('network', 'rm', 'bridge');
    expect(builtin.stderr).toContain('pre-defined');
    expect(await dockerOk('network', 'rm', net)).toBe(`${net}\n`);
    expect((await docker('network', 'inspect', net)).status).not.toBe(0);
    // prune takes what a filter names, no more
    await dockerOk('network', 'create', '--label', `test.prune=${tag}`, `${net}-p`);
    expect(await dockerOk('network', 'prune', '-f', '--filter', `label=test.prune=${tag}`)).toContain(`${net}-p`);
    expect(await dockerOk('network', 'ls', '-q', '--filter', `name=${net}`)).toBe('');
  });

  it('creates, lists, inspects and removes volumes', async () => {
    const vol = `api-vol-${tag}`;
    expect(await dockerOk('volume', 'create', '--label', `test.pid=${tag}`, vol)).toBe(`${vol}\n`);
    expect(await dockerOk('volume', 'ls', '-q', '--filter', `label=test.pid=${tag}`)).toBe(`${vol}\n`);
    const [doc] = JSON.parse(await dockerOk('volume', 'inspect', vol)) as Record<string, unknown>[];
    expect(doc).toMatchObject({ Name: vol, Driver: 'local', Labels: { 'test.pid': tag }, Scope: 'local' });
    expect(await dockerOk('volume', 'rm', vol)).toBe(`${vol}\n`);
    const gone = await docker('volume', 'inspect', vol);
    expect(gone.status).not.toBe(0);
    expect(gone.stderr).toMatch(/no such volume/i);
  });
});
