/**
 * The streaming pull (src/image/layer/install-layer.ts): each layer flows once from the registry
 * through its digests into the store, layers side by side. A corrupt download mid-stream, or a
 * layer that fails while others stream, leaves no layer, no staging directory and no partial blob;
 * layers unpacked side by side are the same trees as one after the other. In-process (the store is
 * this test's own; `tolerate` lets the unprivileged user keep its own ids).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, linkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLayers, storeBlobSource } from '../../src/image/install.js';
import { pullImage } from '../../src/image/pull.js';
import { RegistryClient } from '../../src/image/registry/index.js';
import { chainIds } from '../../src/image/store/chain-id.js';
import { ImageStore, type LayerRecord } from '../../src/image/store/image-store.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, tarOf, type StartedRegistry } from '../support/registry.js';
import { caught } from '../support/runtime.js';

const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE ?? '/tmp', 'pull-stream-'));
let registry: StartedRegistry;
let proxy: FaultProxy;
let n = 0;

beforeAll(async () => {
  registry = await startRegistry('plain');
  proxy = await startFaultProxy(registry.host);
});
afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  rmSync(base, { recursive: true, force: true });
});

const freshStore = () => new ImageStore(join(base, `home-${++n}`));

/** Nothing half-made: every entry of blobs/ and layers/ is named by a digest alone. */
function halfMade(store: ImageStore): string[] {
  return [store.blobsDir, store.layersDir].flatMap((d) => readdirSync(d).filter((f) => !/^[0-9a-f]{64}$/.test(f)));
}

describe('streaming pull', () => {
  it('a blob corrupt mid-stream (twice): DIGEST_MISMATCH naming the blob, and no layer, staging or partial blob left', async () => {
    const layer = tarOf({ 'data/random.bin': randomBytes(2_000_000), 'etc/hello': 'hi\n' });
    await pushImage(registry.url, 'stream/corrupt', '1', [layer]);
    const store = freshStore();
    store.ensureDirs();
    // the config comes straight from the registry: the faults are for the layer
    const direct = new RegistryClient(registry.url);
    const { manifest } = await direct.getManifest('stream/corrupt', '1');
    await direct.getBlob('stream/corrupt', manifest.config.digest, store.blobPath(manifest.config.digest));
    proxy.queue = ['wrong-bytes', 'wrong-bytes'];
    const e = await caught(pullImage(store, `${proxy.host}/stream/corrupt:1`, { chown: 'tolerate' }));
    proxy.queue = [];
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.message).toContain(`blob ${manifest.layers[0]!.digest}`);
    expect(proxy.injected.filter((f) => f === 'wrong-bytes').length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(store.layersDir)).toEqual([]);
    expect(halfMade(store)).toEqual([]);
    expect(store.find(`${proxy.host}/stream/corrupt:1`)).toBeUndefined();
    // the same pull, undisturbed, works
    const rec = await pullImage(store, `${proxy.host}/stream/corrupt:1`, { chown: 'tolerate' });
    expect(readFileSync(join(store.layerPath(rec.layers[0]!.chainId), 'etc/hello'), 'utf8')).toBe('hi\n');
    expect(readdirSync(store.blobsDir)).toContain(rec.layers[0]!.digest.slice(7));
  });

  it('a layer that fails while others stream: the others are stopped, and nothing of any of them is left', async () => {
    const hostile = tarOf({ '../../../escape': 'x' });
    const big = () => tarOf({ 'big/random.bin': randomBytes(12_000_000) });
    await pushImage(registry.url, 'stream/hostile', '1', [hostile, big(), big()]);
    const store = freshStore();
    const e = await caught(pullImage(store, `${registry.host}/stream/hostile:1`, { chown: 'tolerate' }));
    expect(e.code).toBe('LAYER_REJECTED');
    expect(readdirSync(store.layersDir)).toEqual([]);
    expect(halfMade(store)).toEqual([]);
  });

  it('layers unpacked side by side give the same trees as one after the other', async () => {
    const trees = [makeTree('a'), makeTree('b'), makeTree('c')];
    const tars = await Promise.all(trees.map((t) => tarOfDir(t)));
    tars.push(tarOf({ 'a/file-1': 'replaced\n', 'a/.wh.file-2': '', 'new/dir/x': 'x' }));
    const blobs = tars.map((t) => gzipSync(t));
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const chains = chainIds(tars.map(sha));
    const layers: LayerRecord[] = blobs.map((b, i) => ({ digest: sha(b), diffId: sha(tars[i]!), chainId: chains[i]!, size: b.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
    const listings = [];
    for (const parallel of [1, 4]) {
      const store = freshStore();
      store.ensureDirs();
      for (const [i, b] of blobs.entries()) writeFileSync(store.blobPath(layers[i]!.digest), b);
      await installLayers(store, layers, storeBlobSource(store), { chown: 'tolerate' }, parallel);
      expect(halfMade(store)).toEqual([]);
      listings.push(layers.map((l) => listing(store.layerPath(l.chainId))));
    }
    expect(listings[0]!.flat().length).toBeGreaterThan(20);
    expect(listings[1]).toEqual(listings[0]);
  });
});

/** A directory with nested dirs, modes, a symlink, a hard link and a few hundred small files. */
function makeTree(seed: string): string {
  const dir = join(base, `tree-${seed}`);
  mkdirSync(join(dir, seed, 'deep', 'er'), { recursive: true });
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, seed, `file-${i}`), `${seed} ${i}\n`.repeat(i));
  writeFileSync(join(dir, seed, 'deep', 'er', 'bin'), randomBytes(100_000));
  chmodSync(join(dir, seed, 'deep', 'er', 'bin'), 0o755);
  chmodSync(join(dir, seed, 'deep'), 0o750);
  symlinkSync(`../${seed}/file-1`, join(dir, seed, 'deep', 'link'));
  linkSync(join(dir, seed, 'file-2'), join(dir, seed, 'hard'));
  return dir;
}

/** Every entry: path, type, mode, links, size, content digest or link target (owners are the extracting user's here; these tars carry no mtimes). */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : st.isDirectory() ? 'dir' : `rdev ${st.rdev}`;
      out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${st.nlink} ${st.isFile() ? st.size : ''} ${what}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
