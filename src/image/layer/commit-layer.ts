/**
 * Turns a directory in overlay format (a container's upper dir, or a staged COPY) into a layer of
 * the store: an OCI tar (its digest is the diff ID), gzip-compressed into the blob store, and the
 * directory itself moved (or copied) to layers/<chain ID>. Runs in the sandbox, which can read
 * every file whatever its owner inside the user namespace.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, lstatSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { MayflyError } from '../../core/errors.js';
import { runTool } from '../../core/host-tool.js';
import { MediaType } from '../registry/media-types.js';
import type { ImageStore, LayerRecord } from '../store/image-store.js';
import { chainIds } from '../store/chain-id.js';
import { extractLayer } from './extract-layer.js';
import { writeLayerTar } from './layer-tar.js';
import { zstdCompressor } from './zstd.js';

function hashing(hash: ReturnType<typeof createHash>, count?: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      if (count) count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Mount points the runtime made in a container's upper dir: not part of what RUN produced. */
export function removeRuntimeMountpoints(upper: string): void {
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) {
    const p = join(upper, f);
    if (existsSync(p) && statSync(p).isFile() && statSync(p).size === 0) rmSync(p);
  }
  for (const d of ['dev', 'proc', 'sys']) {
    const p = join(upper, d);
    if (existsSync(p) && statSync(p).isDirectory() && readdirSync(p).length === 0) rmSync(p, { recursive: true });
  }
}

/**
 * Stubs the runtime made in an upper dir for a build step's mounts (cache, secret, bind, tmpfs
 * targets): an empty file or directory the layers below did not have goes, with the empty parents
 * made for it — a secret's mount point must not show up in the image.
 */
export function removeMountStubs(upper: string, mountpoints: string[], lowerLayers: string[]): void {
  const inLower = (p: string) => lowerLayers.some((l) => existsSync(join(l, p)));
  for (const mp of mountpoints) {
    let p = mp.replace(/^\/+|\/+$/g, '');
    while (p && p !== '.') {
      const full = join(upper, p);
      let st;
      try {
        st = statSync(full);
      } catch {
        break;
      }
      const empty = st.isDirectory() ? readdirSync(full).length === 0 : st.isFile() && st.size === 0;
      if (!empty || inLower(p)) break;
      rmSync(full, { recursive: true });
      p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    }
  }
}

/**
 * A copy of a directory (ownership, modes, xattrs, whiteouts kept) in a fresh staging dir under
 * `root`. Where `root` refuses 0/0 devices (overlayfs: a CI job's root) and `dir` has such
 * whiteouts (a container's upper dir on tmpfs), `cp -a` cannot copy them: the copy then goes
 * through the layer tar, whose extraction writes them in their xattr form (whiteouts.ts).
 */
export async function snapshotDir(dir: string, root: string): Promise<string> {
  const dest = join(root, `.stage-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await runTool('cp', ['-a', '--no-target-directory', dir, dest]);
  } catch (e) {
    rmSync(dest, { recursive: true, force: true });
    if (!hasDeviceWhiteouts(dir)) throw e;
    try {
      const tar = new PassThrough();
      await Promise.all([writeLayerTar(dir, tar).then(() => tar.end()), extractLayer(tar, dest, { chown: 'tolerate' })]);
    } catch (again) {
      rmSync(dest, { recursive: true, force: true });
      throw again;
    }
  }
  return dest;
}

function hasDeviceWhiteouts(dir: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isCharacterDevice() && lstatSync(p).rdev === 0) return true;
    if (e.isDirectory() && hasDeviceWhiteouts(p)) return true;
  }
  return false;
}

export async function commitLayer(store: ImageStore, dir: string, parentChainId: string | undefined, how: 'move' | 'copy', compression: 'gzip' | 'zstd' = 'gzip'): Promise<LayerRecord> {
  store.ensureDirs();
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  const size = { n: 0 };
  const tmp = join(store.blobsDir, `.commit-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tar = new PassThrough();
  try {
    await Promise.all([writeLayerTar(dir, tar).then(() => tar.end()), pipeline(tar, hashing(diff), compression === 'zstd' ? zstdCompressor(3) : createGzip({ level: 6 }), hashing(blob, size), createWriteStream(tmp))]);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new MayflyError('ROOTFS_FAILED', `could not write a layer from ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const diffId = `sha256:${diff.digest('hex')}`;
  const digest = `sha256:${blob.digest('hex')}`;
  if (existsSync(store.blobPath(digest))) rmSync(tmp);
  else renameSync(tmp, store.blobPath(digest));
  const chainId = parentChainId ? chainIds([parentChainId, diffId])[1]! : diffId;
  const dest = store.layerPath(chainId);
  if (!existsSync(dest)) {
    renameSync(how === 'move' ? dir : await snapshotDir(dir, store.layersDir), dest);
  } else if (how === 'move') rmSync(dir, { recursive: true, force: true });
  return { digest, diffId, chainId, size: size.n, mediaType: compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip };
}
