/**
 * Pull: reference → (rewrites, mirrors, upstream) → manifest for this platform → config and layer
 * blobs (each downloaded once, digest-checked, under a cross-process lock) → layers extracted once
 * per chain ID, their uncompressed digest checked against the image config → an image record.
 * Runs in the sandbox, inside the user namespace, so that extracted files get the image's owners.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isMayflyError, MayflyError } from '../errors.js';
import { getCredentials } from './credentials.js';
import { extractLayer, type ChownPolicy } from './layer-extract.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { loadRegistryConfig, resolveEndpoints, type RegistryEndpoint } from './registry-config.js';
import { RegistryClient, type PulledManifest, type Platform } from './registry/index.js';
import { chainIds } from './store/chain-id.js';
import type { ImageConfigFile } from './store/image-config.js';
import { ImageStore, type ImageRecord, type LayerRecord } from './store/image-store.js';
import { withFileLock } from './store/lock.js';

export interface PullProgress {
  /** short layer digest (12 hex), or 'manifest' / 'config' */
  item: string;
  phase: 'resolving' | 'downloading' | 'cached' | 'extracting' | 'done';
  received?: number;
  total?: number;
}

export interface PullOptions {
  platform?: Platform;
  chown: ChownPolicy;
  onProgress?: (p: PullProgress) => void;
  onWarning?: (message: string) => void;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** Tries each endpoint in order; a mirror that fails or lacks the image hands over to the next. */
async function resolveManifest(ref: ImageReference, endpoints: RegistryEndpoint[], platform: Platform | undefined, home: string): Promise<{ client: RegistryClient; repo: string; pulled: PulledManifest; endpoint: RegistryEndpoint }> {
  let last: unknown;
  for (const [i, endpoint] of endpoints.entries()) {
    const credentials = await getCredentials(endpoint.registry, { home });
    const client = new RegistryClient(`${endpoint.scheme}://${endpoint.registry}`, { ...(credentials ? { credentials } : {}), name: endpoint.registry });
    try {
      const pulled = await client.getManifest(endpoint.repository, ref.digest ?? ref.tag ?? 'latest', platform ? { platform } : {});
      return { client, repo: endpoint.repository, pulled, endpoint };
    } catch (e) {
      last = e;
      const more = i < endpoints.length - 1;
      const fallThrough = isMayflyError(e, 'REGISTRY_UNREACHABLE') || isMayflyError(e, 'IMAGE_NOT_FOUND') || isMayflyError(e, 'REGISTRY_ERROR');
      if (!(more && endpoint.mirror && fallThrough)) throw e;
    }
  }
  throw last;
}

async function fetchBlob(store: ImageStore, client: RegistryClient, repo: string, digest: string, size: number, opts: PullOptions): Promise<string> {
  const path = store.blobPath(digest);
  if (existsSync(path)) {
    opts.onProgress?.({ item: short(digest), phase: 'cached', total: size });
    return path;
  }
  return withFileLock(store.lockPath(digest), async () => {
    if (!existsSync(path)) {
      await client.getBlob(repo, digest, path, {
        size,
        onProgress: (p) => opts.onProgress?.({ item: short(digest), phase: 'downloading', received: p.received, total: p.total ?? size }),
      });
    }
    return path;
  });
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 0);
    return magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Extracts a blob as the layer `chainId`, checking that its uncompressed content is `diffId`. */
async function extractOnce(store: ImageStore, blob: string, layer: LayerRecord, opts: PullOptions): Promise<void> {
  const dest = store.layerPath(layer.chainId);
  if (existsSync(dest)) return;
  await withFileLock(store.lockPath(layer.chainId), async () => {
    if (existsSync(dest)) return;
    opts.onProgress?.({ item: short(layer.digest), phase: 'extracting' });
    const hash = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const raw = createReadStream(blob);
    const tar = new PassThrough();
    const feeding = isGzip(blob) ? pipeline(raw, createGunzip(), tee, tar) : pipeline(raw, tee, tar);
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
        throw new MayflyError('DIGEST_MISMATCH', `layer ${short(layer.digest)} unpacks to ${diffId}, but the image config says ${layer.diffId}`, {
          hint: 'the image is corrupt or was altered: pull it again, or from another registry',
        });
      }
      if (result.skipped.length) opts.onWarning?.(`layer ${short(layer.digest)}: skipped ${result.skipped.length} entries a rootless runtime cannot create (e.g. ${result.skipped[0]})`);
      renameSync(staged, dest);
    } catch (e) {
      rmSync(staged, { recursive: true, force: true });
      throw e;
    }
  });
}

export async function pullImage(store: ImageStore, reference: string, opts: PullOptions): Promise<ImageRecord> {
  store.ensureDirs();
  const ref = parseReference(reference);
  const config = await loadRegistryConfig({ file: join(store.home, 'config.json') });
  opts.onProgress?.({ item: 'manifest', phase: 'resolving' });
  const { client, repo, pulled, endpoint } = await resolveManifest(ref, resolveEndpoints(ref, config), opts.platform, store.home);
  const { manifest } = pulled;
  const configPath = await fetchBlob(store, client, repo, manifest.config.digest, manifest.config.size, opts);
  const imageConfig = JSON.parse(readFileSync(configPath, 'utf8')) as ImageConfigFile;
  const diffIds = imageConfig.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new MayflyError('MANIFEST_UNSUPPORTED', `${reference}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length}`);
  }
  const chains = chainIds(diffIds);
  const layers: LayerRecord[] = manifest.layers.map((l, i) => ({ digest: l.digest, diffId: diffIds[i]!, chainId: chains[i]!, size: l.size, mediaType: l.mediaType }));
  for (const l of layers) {
    if (l.mediaType.endsWith('+zstd')) throw new MayflyError('MANIFEST_UNSUPPORTED', `${reference}: zstd-compressed layers are not supported yet`, { hint: 'use an image with gzip layers' });
  }
  // download all blobs concurrently, extract in order as each becomes available
  const downloads = layers.map((l) => (store.hasLayer(l.chainId) ? Promise.resolve('') : fetchBlob(store, client, repo, l.digest, l.size, opts)));
  downloads.forEach((d) => d.catch(() => {}));
  for (const [i, l] of layers.entries()) {
    const blob = await downloads[i]!;
    if (blob) await extractOnce(store, blob, l, opts);
    opts.onProgress?.({ item: short(l.digest), phase: 'done', total: l.size });
  }
  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest: pulled.digest,
    names: [],
    layers,
    config: imageConfig,
    source: `${endpoint.registry}/${endpoint.repository}`,
    pulledAt: new Date().toISOString(),
    size: manifest.config.size + layers.reduce((n, l) => n + l.size, 0),
  };
  return store.save(record, formatReference(ref));
}
