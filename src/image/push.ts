/**
 * Push: an image in the store → the registry its name points at (no rewrites or mirrors: those are
 * for reading). Each blob is skipped when the registry has it, mounted from the repository the
 * image came from when that is on the same registry, else uploaded (in chunks when large); then
 * the manifest goes up byte for byte as it was pulled, so the image keeps its digest.
 * Runs in the owner process: blobs are plain files it can read.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { getCredentials, type RegistryCredentials } from './credentials.js';
import { shortDigest } from './progress.js';
import { formatReference, parseReference, registryHost, type ImageReference } from './reference.js';
import { loadRegistryConfig, registryScheme } from './registry-config.js';
import { RegistryClient } from './registry/index.js';
import { MediaType } from './registry/media-types.js';
import { compressionOfMediaType, recompressBlob, type Compression } from './layer/recompress.js';
import type { ImageStore } from './store/image-store.js';
import { storedManifest } from './store/stored-manifest.js';
import { notInStore } from './store/tag.js';

export interface PushProgress {
  /** short blob digest (12 hex), or 'manifest' */
  item: string;
  phase: 'checking' | 'exists' | 'mounted' | 'uploading' | 'pushed' | 'done';
  total?: number;
}

export interface PushOptions {
  onProgress?: (p: PushProgress) => void;
  /** blobs larger than this go up in PATCH chunks of this size (default 8 MiB) */
  chunkSize?: number;
  /**
   * push layers in this compression: layers in another one are recompressed (same content, so the
   * same image ID; the manifest, and so the pushed digest, is a new one)
   */
  compression?: Compression;
  /** used instead of the stored credentials (a Docker API client sends its own) */
  credentials?: RegistryCredentials;
}

export interface PushResult {
  /** the normalized name pushed, e.g. 127.0.0.1:5000/app:1 */
  name: string;
  /** the manifest's digest: `name@digest` pulls exactly this image */
  digest: string;
}

const CHUNK = 8 * 1024 * 1024;

export async function pushImage(store: ImageStore, reference: string, opts: PushOptions = {}): Promise<PushResult> {
  const record = store.find(reference);
  if (!record) throw notInStore(reference);
  let ref: ImageReference;
  try {
    ref = parseReference(reference);
  } catch {
    throw new MayflyError('REFERENCE_INVALID', `cannot push ${reference}: push needs a name, not an image ID`, { hint: `mayfly tag ${reference} REGISTRY/REPOSITORY:TAG, then push that` });
  }
  let manifest = storedManifest(store, record);
  if (opts.compression && manifest.manifest.layers.some((l) => compressionOfMediaType(l.mediaType) !== opts.compression)) {
    const layers = [];
    for (const l of manifest.manifest.layers) {
      if (compressionOfMediaType(l.mediaType) === opts.compression) layers.push(l);
      else {
        opts.onProgress?.({ item: shortDigest(l.digest), phase: 'checking', total: l.size });
        layers.push(await recompressBlob(store, l.digest, opts.compression));
      }
    }
    const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...manifest.manifest.config, mediaType: MediaType.OciConfig }, layers }));
    manifest = { ...manifest, raw, manifest: JSON.parse(raw.toString()) as typeof manifest.manifest, mediaType: MediaType.OciManifest, digest: `sha256:${createHash('sha256').update(raw).digest('hex')}` };
  }
  const config = await loadRegistryConfig({ file: join(store.home, 'config.json') });
  const credentials = opts.credentials ?? (await getCredentials(ref.registry, { home: store.home }));
  const client = new RegistryClient(`${registryScheme(ref.registry, config)}://${registryHost(ref.registry)}`, {
    ...(credentials ? { credentials } : {}),
    name: ref.registry,
  });
  const from = mountSource(record.source, ref);
  const chunkSize = opts.chunkSize ?? CHUNK;
  const blobs = [manifest.manifest.config, ...manifest.manifest.layers];
  for (const blob of blobs) {
    const item = shortDigest(blob.digest);
    const report = (phase: PushProgress['phase']) => opts.onProgress?.({ item, phase, total: blob.size });
    report('checking');
    if (await client.blobExists(ref.repository, blob.digest)) {
      report('exists');
      continue;
    }
    if (from && (await client.mountBlob(ref.repository, blob.digest, from))) {
      report('mounted');
      continue;
    }
    const path = store.blobPath(blob.digest);
    if (!existsSync(path)) {
      throw new MayflyError('IMAGE_NOT_FOUND', `cannot push ${reference}: its blob ${blob.digest} is not in the store`, {
        hint: `the layer was shared with another image when it was pulled; pull ${record.names[0] ?? reference} again, then push`,
        details: { image: record.id, blob: blob.digest },
      });
    }
    report('uploading');
    const size = statSync(path).size;
    await client.uploadBlob(ref.repository, blob.digest, path, size > chunkSize ? { chunkSize } : {});
    report('pushed');
  }
  const tag = ref.digest ?? ref.tag ?? 'latest';
  if (ref.digest && ref.digest !== manifest.digest) {
    throw new MayflyError('DIGEST_MISMATCH', `cannot push ${reference}: the image's manifest is ${manifest.digest}, not ${ref.digest}`);
  }
  opts.onProgress?.({ item: 'manifest', phase: 'uploading', total: manifest.raw.length });
  const digest = await client.putManifest(ref.repository, tag, manifest.raw, manifest.mediaType);
  opts.onProgress?.({ item: 'manifest', phase: 'done', total: manifest.raw.length });
  return { name: formatReference(ref), digest };
}

/** The repository to mount blobs from: where the image came from, when that is the same registry. */
function mountSource(source: string, target: ImageReference): string | undefined {
  const slash = source.indexOf('/');
  if (slash <= 0 || source.startsWith('archive:')) return undefined;
  const registry = source.slice(0, slash);
  const repository = source.slice(slash + 1);
  return registry === target.registry && repository !== target.repository ? repository : undefined;
}
