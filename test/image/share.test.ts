/**
 * Sharing images and managing the store, through the Runtime API: push (cross-repository mount,
 * chunked upload), tag, inspect/history, rmi (refused while a container uses the image), prune
 * (never a live container's layers), save → rmi → load → run with no registry.
 * A private MAYFLY_HOME: prune and rmi here must not touch what other test files are using.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import { pushImage as pushFromStore } from '../../src/image/push.js';
import { digestOf } from '../../src/image/registry/index.js';
import { ImageStore } from '../../src/image/store/image-store.js';
import { Runtime, type Container } from '../../src/engine/runtime.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, tarOf, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX, runToEnd } from '../support/runtime.js';

const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'share-home-'));
const store = new ImageStore(home);
let rt: Runtime;
let registry: StartedRegistry;
let image: string;

beforeAll(async () => {
  rt = await Runtime.start({ home, onWarning: () => {} });
  registry = await startRegistry('plain');
  image = `${registry.host}/share/busybox:1`;
  await pushImage(registry.url, 'share/busybox', '1', [await tarOfDir(BUSYBOX), tarOf({ 'etc/share.txt': 'shared\n' })], { Cmd: ['cat', '/etc/share.txt'], Env: ['PATH=/bin'] });
});

afterAll(async () => {
  // everything goes through the sandbox: layer files may belong to subordinate ids
  for (const r of rt.images()) await rt.rmi(r.id, { force: true });
  await rt.prune();
  await rt.close();
  await registry?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** A ustar layer whose directory and file belong to uid/gid 999: only the user namespace can delete them. */
function layerOwnedBy999(text: string): Buffer {
  const entry = (name: string, type: '0' | '5', data: Buffer): Buffer[] => {
    const h = Buffer.alloc(512);
    const octal = (offset: number, length: number, value: number) => h.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
    h.write(name, 0, 100, 'ascii');
    octal(100, 8, type === '5' ? 0o755 : 0o644);
    octal(108, 8, 999);
    octal(116, 8, 999);
    octal(124, 12, data.length);
    octal(136, 12, 1_700_000_000);
    h.write('        ', 148, 8, 'ascii');
    h.write(type, 156, 1, 'ascii');
    h.write('ustar\0', 257, 6, 'ascii');
    h.write('00', 263, 2, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    return [h, data, Buffer.alloc((512 - (data.length % 512)) % 512)];
  };
  return Buffer.concat([...entry('srv/', '5', Buffer.alloc(0)), ...entry('srv/inuse.txt', '0', Buffer.from(text)), Buffer.alloc(1024)]);
}

const output = async (c: Container): Promise<string> => (await runToEnd(c)).out;

describe('share images', () => {
  it('keeps the pulled manifest byte for byte, and pushes it to another repository by mounting its blobs', async () => {
    const rec = await rt.pull(image);
    const raw = readFileSync(store.blobPath(rec.manifestDigest));
    expect(digestOf(raw)).toBe(rec.manifestDigest);
    expect(rec.manifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    const copy = `${registry.host}/share/copy:2`;
    rt.tag(image, copy);
    const phases: string[] = [];
    const pushed = await rt.push(copy, { onProgress: (p) => phases.push(`${p.item}:${p.phase}`) });
    expect(pushed.digest).toBe(rec.manifestDigest);
    expect(phases.filter((p) => p.endsWith(':mounted'))).toHaveLength(3); // config and two layers
    // pushing again finds every blob there
    const again: string[] = [];
    await rt.push(copy, { onProgress: (p) => again.push(p.phase) });
    expect(again.filter((p) => p === 'exists')).toHaveLength(3);

    const back = await rt.pull(`${registry.host}/share/copy@${pushed.digest}`);
    expect(back.id).toBe(rec.id);
  });

  it('uploads to another registry, in chunks when a blob is larger than the chunk size', async () => {
    const other = await startRegistry('plain');
    try {
      const target = `${other.host}/elsewhere/busybox:1`;
      rt.tag(image, target);
      const phases: string[] = [];
      const pushed = await pushFromStore(store, target, { chunkSize: 64 * 1024, onProgress: (p) => phases.push(p.phase) });
      expect(phases.filter((p) => p === 'pushed')).toHaveLength(3);
      expect(pushed.digest).toBe(rt.inspect(image).manifestDigest);
      const res = await fetch(`${other.url}/v2/elsewhere/busybox/manifests/${pushed.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(res.status).toBe(200);
      expect(digestOf(Buffer.from(await res.arrayBuffer()))).toBe(pushed.digest);
      await rt.rmi(target);
    } finally {
      await other.stop();
    }
  });

  it('tags an image and runs it by the new name; inspect and history describe it', async () => {
    rt.tag(image, 'mayfly.test/tagged:1');
    expect(await output(await rt.create({ image: 'mayfly.test/tagged:1', pull: 'never' }))).toBe('shared\n');
    const rec = rt.inspect('mayfly.test/tagged:1');
    expect(rec.names).toEqual(expect.arrayContaining([image, 'mayfly.test/tagged:1']));
    expect(rt.inspect(rec.id.slice(7, 19)).id).toBe(rec.id);
    const history = rt.history('mayfly.test/tagged:1');
    expect(history.map((h) => h.layer)).toEqual(rec.layers.map((l) => l.digest).reverse());
    expect(history.every((h) => h.size > 0 && !h.emptyLayer)).toBe(true);
    // untagging one of several names leaves the image
    const r = await rt.rmi('mayfly.test/tagged:1');
    expect(r).toMatchObject({ untagged: ['mayfly.test/tagged:1'] });
    expect(r.deleted).toBeUndefined();
    expect(rt.inspect(image).id).toBe(rec.id);
    expect(() => rt.inspect('mayfly.test/tagged:1')).toThrow(/no such image/);
  });

  it('rmi refuses an image a container uses unless forced; prune keeps that container\'s layers until it is gone', async () => {
    const name = `${registry.host}/share/inuse:1`;
    await pushImage(registry.url, 'share/inuse', '1', [await tarOfDir(BUSYBOX), layerOwnedBy999(`in use ${Date.now()}\n`)], { Cmd: ['sleep', '1000'] });
    const rec = await rt.pull(name);
    const own = store.layerPath(rec.layers[1]!.chainId);
    // uid 999 inside is a subordinate id outside: the owner could not delete this directory itself
    if (!rt.info.idMapping.single) expect(statSync(join(own, 'srv')).uid).not.toBe(process.getuid!());
    const c = await rt.create({ image: name });
    try {
      await c.start();
      const refused = await rt.rmi(name).catch((e: unknown) => e);
      expect(isMayflyError(refused, 'IMAGE_IN_USE')).toBe(true);
      expect((refused as Error).message).toContain(c.name);
      const forced = await rt.rmi(name, { force: true });
      expect(forced.deleted).toBe(rec.id);
      expect(rt.images().map((i) => i.id)).not.toContain(rec.id);
      await rt.prune();
      expect(existsSync(own)).toBe(true);
      expect((await c.exec(['cat', '/srv/inuse.txt'])).stdout).toMatch(/^in use/);
    } finally {
      await c.remove({ force: true });
    }
    const pruned = await rt.prune();
    expect(pruned.layers).toContain(own);
    expect(existsSync(own)).toBe(false);
    expect(existsSync(store.blobPath(rec.id))).toBe(false);
    // the busybox layer is still the other image's
    expect(existsSync(store.layerPath(rec.layers[0]!.chainId))).toBe(true);
  });

  it('save → rmi → load → run, with the registry gone', async () => {
    const rec = rt.inspect(image);
    const file = join(home, 'images.tar');
    await rt.save([image], file);
    for (const r of rt.images()) await rt.rmi(r.id, { force: true });
    expect(rt.images()).toEqual([]);
    for (const l of rec.layers) expect(existsSync(store.layerPath(l.chainId))).toBe(false);
    await registry.stop();

    const loaded = await rt.load(file);
    expect(loaded.map((r) => [r.id, r.names])).toEqual([[rec.id, [image]]]);
    expect(loaded[0]!.manifestDigest).toBe(rec.manifestDigest);
    expect(await output(await rt.create({ image, pull: 'never' }))).toBe('shared\n');
    // loading again changes nothing
    expect((await rt.load(file))[0]!.id).toBe(rec.id);
    rmSync(file);
  });
});
