/**
 * Installs an image into the store from its manifest: config and layer blobs from wherever the
 * caller gets them (a registry for pull, the store itself for load), layers extracted once per
 * chain ID with their uncompressed digest checked against the config, the manifest kept as a blob
 * (so push and save send it byte for byte), and the image record saved.
 * Runs in the sandbox, inside the user namespace, so that extracted files get the image's owners.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ZSTD_MAGIC, zstdDecompressor } from './layer/zstd.js';
import { MayflyError } from '../core/errors.js';
import { extractLayer, type ChownPolicy } from './layer/extract-layer.js';
import { shortDigest, type PullProgress } from './progress.js';
import type { ImageManifest } from './registry/index.js';
import { chainIds } from './store/chain-id.js';
import type { ImageConfigFile } from './store/image-config.js';
import { atomicWrite, ImageStore, type ImageRecord, type LayerRecord } from './store/image-store.js';
import { withFileLock } from '../sys/locks.js';

export interface InstallOptions {
  chown: ChownPolicy;
  onProgress?: (p: PullProgress) => void;
  onWarning?: (message: string) => void;
}

export interface InstallInput {
  /** what the image is called in messages */
  what: string;
  manifest: ImageManifest;
  /** the manifest's bytes, as the registry or archive had them */
  raw: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  /** where it came from: `registry/repository`, or `archive:<file>` */
  source: string;
  /** the normalized name to give it; none leaves an untagged image (or the names it has) */
  name?: string;
}

/** A blob's path in the store, fetched there first if need be. */
export type BlobSource = (digest: string, size: number) => Promise<string>;


export async function installImage(store: ImageStore, input: InstallInput, blobFor: BlobSource, opts: InstallOptions): Promise<ImageRecord> {
  const { manifest, what } = input;
  const configPath = await blobFor(manifest.config.digest, manifest.config.size);
  const imageConfig = JSON.parse(readFileSync(configPath, 'utf8')) as ImageConfigFile;
  const diffIds = imageConfig.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new MayflyError('MANIFEST_UNSUPPORTED', `${what}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length}`);
  }
  const chains = chainIds(diffIds);
  const layers: LayerRecord[] = manifest.layers.map((l, i) => ({ digest: l.digest, diffId: diffIds[i]!, chainId: chains[i]!, size: l.size, mediaType: l.mediaType }));
  // fetch all blobs concurrently, extract in order as each becomes available
  const blobs = layers.map((l) => (store.hasLayer(l.chainId) ? Promise.resolve('') : blobFor(l.digest, l.size)));
  blobs.forEach((d) => d.catch(() => {}));
  for (const [i, l] of layers.entries()) {
    const blob = await blobs[i]!;
    if (blob) await extractOnce(store, blob, l, opts);
    opts.onProgress?.({ item: shortDigest(l.digest), phase: 'done', total: l.size });
  }
  const manifestBlob = store.blobPath(input.manifestDigest);
  if (!existsSync(manifestBlob)) atomicWrite(manifestBlob, input.raw);
  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest: input.manifestDigest,
    manifestMediaType: input.manifestMediaType,
    names: [],
    layers,
    config: imageConfig,
    source: input.source,
    pulledAt: new Date().toISOString(),
    size: manifest.config.size + layers.reduce((n, l) => n + l.size, 0),
  };
  return store.save(record, input.name);
}

/** gzip, zstd or a plain tar, told by the blob's first bytes (the media type may say `tar` for any). */
function compressionOf(path: string): 'gzip' | 'zstd' | 'none' {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
    return magic.equals(ZSTD_MAGIC) ? 'zstd' : 'none';
  } finally {
    closeSync(fd);
  }
}

/** Extracts a blob as the layer `chainId`, checking that its uncompressed content is `diffId`. */
async function extractOnce(store: ImageStore, blob: string, layer: LayerRecord, opts: InstallOptions): Promise<void> {
  const dest = store.layerPath(layer.chainId);
  if (existsSync(dest)) return;
  await withFileLock(store.lockPath(layer.chainId), async () => {
    if (existsSync(dest)) return;
    opts.onProgress?.({ item: shortDigest(layer.digest), phase: 'extracting' });
    const hash = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    // large reads and inflater output chunks: zlib's 16 KiB default made gunzip ~1.5x slower (bench/results/pull-attempts on feat/pull)
    const raw = createReadStream(blob, { highWaterMark: 1 << 20 });
    const tar = new PassThrough();
    const kind = compressionOf(blob);
    const feeding = kind === 'none' ? pipeline(raw, tee, tar) : pipeline(raw, kind === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : zstdDecompressor(), tee, tar);
    const staged = `${dest}.extracting-${process.pid}`;
    rmSync(staged, { recursive: true, force: true });
    try {
      const [fed, extracted] = await Promise.allSettled([feeding, extractLayer(tar, staged, { chown: opts.chown, ...(opts.onWarning ? { onWarning: opts.onWarning } : {}) })]);
      // a refused entry aborts the feeding pipeline too: the extractor's reason is the one to tell
      if (extracted.status === 'rejected') throw extracted.reason;
      if (fed.status === 'rejected') throw fed.reason;
      const result = extracted.value;
      const diffId = `sha256:${hash.digest('hex')}`;
      if (diffId !== layer.diffId) {
        throw new MayflyError('DIGEST_MISMATCH', `layer ${shortDigest(layer.digest)} unpacks to ${diffId}, but the image config says ${layer.diffId}`, {
          hint: 'the image is corrupt or was altered: pull it again, or from another registry',
        });
      }
      if (result.skipped.length) opts.onWarning?.(`layer ${shortDigest(layer.digest)}: skipped ${result.skipped.length} entries a rootless runtime cannot create (e.g. ${result.skipped[0]})`);
      renameSync(staged, dest);
    } catch (e) {
      rmSync(staged, { recursive: true, force: true });
      throw e;
    }
  });
}
