import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import { mayflyHome } from '../../src/core/paths.js';
import { Runtime } from '../../src/engine/runtime.js';
import { tarOf } from '../support/registry.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { usePrivateHome } from '../support/private-home.js';
import { BUSYBOX, runToEnd, useRuntime } from '../support/runtime.js';

// the store's layer directory is read whole (nothing half-made in it): no other file's pull may be under way there
usePrivateHome('pull-and-run');
const { runtime, warnings } = useRuntime();
let registry: StartedRegistry;
let image: string;

/** A tar with a whiteout that deletes /etc/marker, written by hand (ustar, like the registry helper's). */
function topLayer(): Buffer {
  return tarOf({ 'etc/motd': 'welcome\n', 'etc/.wh.marker': '' });
}

beforeAll(async () => {
  registry = await startRegistry('plain');
  image = `${registry.host}/test/busybox:1`;
  await pushImage(registry.url, 'test/busybox', '1', [await tarOfDir(BUSYBOX), topLayer()], {
    Cmd: ['sh', '-c', 'echo $GREETING from $(pwd) as $(id -un)'],
    Env: ['GREETING=hello', 'PATH=/bin'],
    WorkingDir: '/home/app',
    User: 'app',
    Labels: { 'org.example': 'yes' },
  });
});
afterAll(() => registry?.stop());

const output = runToEnd;

describe('pull, then run from the store', () => {
  it('pulls the layers once, with progress, into the store', async () => {
    const phases = new Set<string>();
    const rec = await runtime().pull(image, { onProgress: (p) => phases.add(p.phase) });
    expect(rec.layers).toHaveLength(2);
    expect(rec.names).toEqual([`${image}`]);
    expect([...phases]).toEqual(expect.arrayContaining(['resolving', 'extracting', 'done']));
    for (const l of rec.layers) expect(existsSync(join(mayflyHome(), 'layers', l.chainId.slice(7)))).toBe(true);
    expect(runtime().images().map((i) => i.id)).toContain(rec.id);
    // nothing half-made is left in the store
    expect(readdirSync(join(mayflyHome(), 'layers')).filter((d) => d.includes('.'))).toEqual([]);
  });

  it('runs with the image config as defaults: Cmd, Env, WorkingDir, User; whiteouts applied', async () => {
    const c = await runtime().create({ image });
    expect(c.spec.labels['org.example']).toBe('yes');
    expect(await output(c)).toEqual({ exitCode: 0, out: 'hello from /home/app as app\n' });
    const files = await output(await runtime().create({ image, command: ['sh', '-c', 'cat /etc/motd; ls /etc/marker 2>&1 || true'] }));
    expect(files.out).toBe('welcome\nls: /etc/marker: No such file or directory\n');
  });

  it('lets the caller override command, entrypoint, env, user and working dir', async () => {
    const r = await output(await runtime().create({ image, entrypoint: ['sh', '-c'], command: ['echo $GREETING $(id -u) $(pwd)'], env: { GREETING: 'hi' }, user: 'root', workingDir: '/tmp' }));
    expect(r.out).toBe('hi 0 /tmp\n');
  });

  it('a tag that does not exist, and a registry that is down, are clear errors', async () => {
    const missing = await runtime().pull(`${registry.host}/test/busybox:nope`).catch((e: unknown) => e);
    expect(isMayflyError(missing, 'IMAGE_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toContain('nope');
    const down = await runtime().pull('127.0.0.1:9/test/busybox:1').catch((e: unknown) => e);
    expect(isMayflyError(down, 'REGISTRY_UNREACHABLE')).toBe(true);
    expect((down as Error).message).toContain('127.0.0.1:9');
  });

  it('refuses a hostile layer and writes nothing outside the store', async () => {
    const evil = tarOf({ '../../../../../../tmp/mayfly-evil-was-here': 'x' });
    await pushImage(registry.url, 'test/evil', '1', [evil], { Cmd: ['true'] });
    const err = await runtime().pull(`${registry.host}/test/evil:1`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LAYER_REJECTED' });
    expect(existsSync('/tmp/mayfly-evil-was-here')).toBe(false);
    expect(readdirSync(join(mayflyHome(), 'layers')).filter((d) => d.includes('.'))).toEqual([]);
  });

  it('several runtimes pulling one image at once share one download and one extraction', async () => {
    await pushImage(registry.url, 'test/shared', '1', [tarOf({ 'shared.txt': `made at ${Date.now()}` })], { Cmd: ['true'] });
    const rts = await Promise.all([1, 2, 3].map(() => Runtime.start({ onWarning: () => {} })));
    try {
      const recs = await Promise.all(rts.map((r) => r.pull(`${registry.host}/test/shared:1`)));
      expect(new Set(recs.map((r) => r.id)).size).toBe(1);
    } finally {
      await Promise.all(rts.map((r) => r.close()));
    }
  });

  it('starts from the store with the registry gone: no network needed', async () => {
    await registry.stop();
    const r = await output(await runtime().create({ image }));
    expect(r.out).toBe('hello from /home/app as app\n');
    const err = await runtime().create({ image: `${registry.host}/test/busybox:never-pulled`, pull: 'never' }).catch((e: unknown) => e);
    expect(isMayflyError(err, 'IMAGE_NOT_FOUND')).toBe(true);
    expect(warnings.filter((w) => !w.includes('only your own user id'))).toEqual([]);
  });
});
