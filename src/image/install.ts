/**
 * Installs an image into the store from its manifest: config and layer blobs from wherever the
 * caller gets them (a registry for pull, the store itself for load), each layer streamed once
 * through its digests into the store (layer/install-layer.ts), side by side, the manifest kept as a blob
 * (so push and save send it byte for byte), and the image record saved.
 * Runs in the sandbox, inside the user namespace, so that extracted files get the image's owners.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { MayflyError } from '../core/errors.js';
import { forEachBounded } from '../core/for-each-bounded.js';
import type { ChownPolicy } from './layer/extract-layer.js';
import { installLayer, type LayerSource } from './layer/install-layer.js';
import { shortDigest, type PullProgress } from './progress.js';
import type { ImageManifest } from './registry/index.js';
import { chainIds } from './store/chain-id.js';
import type { ImageConfigFile } from './store/image-config.js';
import { atomicWrite, ImageStore, type ImageRecord, type LayerRecord } from './store/image-store.js';

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

/**
 * Where the blobs come from: the config as a file in the store, each layer as a stream
 * (layer/install-layer.ts) — a registry's body as it arrives, or the store's own file for `load`.
 */
export interface BlobSource extends LayerSource {
  /** the blob's path in the store, fetched there first if need be */
  file(digest: string, size: number): Promise<string>;
}

/** The store's own blob files (already verified): what `load` installs from. */
export function storeBlobSource(store: ImageStore): BlobSource {
  const file = (digest: string): Promise<string> => {
    const path = store.blobPath(digest);
    if (!existsSync(path)) return Promise.reject(new MayflyError('ARCHIVE_INVALID', `blob ${digest} is not in the store`));
    return Promise.resolve(path);
  };
  return {
    file,
    async open(digest) {
      return { stream: createReadStream(await file(digest), { highWaterMark: 1 << 20 }), keep: false };
    },
    retryMismatch: false,
  };
}

/** Layers streamed at once: the big ones overlap the small ones; more would only share 2 cores. */
const PARALLEL_LAYERS = 3;

export async function installImage(store: ImageStore, input: InstallInput, blobs: BlobSource, opts: InstallOptions): Promise<ImageRecord> {
  const { manifest, what } = input;
  const configPath = await blobs.file(manifest.config.digest, manifest.config.size);
  const imageConfig = JSON.parse(readFileSync(configPath, 'utf8')) as ImageConfigFile;
  const diffIds = imageConfig.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new MayflyError('MANIFEST_UNSUPPORTED', `${what}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length}`);
  }
  const chains = chainIds(diffIds);
  const layers: LayerRecord[] = manifest.layers.map((l, i) => ({ digest: l.digest, diffId: diffIds[i]!, chainId: chains[i]!, size: l.size, mediaType: l.mediaType }));
  await installLayers(store, layers, blobs, opts);
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

/**
 * Every layer the store lacks, side by side (each is its own directory: none waits for the one
 * below), at most `parallel` at once. The first failure stops the others, whose staging goes with
 * them; layers already committed stay (they are whole, and a later pull uses them).
 */
export function installLayers(store: ImageStore, layers: LayerRecord[], blobs: LayerSource, opts: InstallOptions, parallel = PARALLEL_LAYERS): Promise<void> {
  return forEachBounded(layers, parallel, async (l, signal) => {
    await installLayer(store, l, blobs, { ...opts, signal });
    opts.onProgress?.({ item: shortDigest(l.digest), phase: 'done', total: l.size });
  });
}
