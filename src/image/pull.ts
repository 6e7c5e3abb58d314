/**
 * Pull: reference → (rewrites, mirrors, upstream) → manifest for this platform → config and layer
 * blob (downloaded once, digest-checked, under a cross-process lock) → each layer streamed from the
 * registry through both digests into the store, once per chain ID (layer/install-layer.ts) → an image record
 * (install.ts, shared with `load`). Runs in the sandbox, inside the user namespace, so that extracted files get the image's owners.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMayflyError } from '../core/errors.js';
import { getCredentials, type RegistryCredentials } from './credentials.js';
import { installImage, storeBlobSource, type BlobSource, type InstallInput } from './install.js';
import { shortDigest as short, type PullProgress } from './progress.js';
import type { ChownPolicy } from './layer/extract-layer.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { loadRegistryConfig, resolveEndpoints, type RegistryEndpoint } from './registry-config.js';
import { RegistryClient, type BlobProgress, type PulledManifest, type Platform } from './registry/index.js';
import type { ImageRecord, ImageStore } from './store/image-store.js';
import { withFileLock } from '../sys/locks.js';
import { withStoreLock } from './store/store-lock.js';

/** What a pull into the store needs beyond the reference (the engine's own StorePullOptions are the public ones). */
export interface StorePullOptions {
  platform?: Platform;
  chown: ChownPolicy;
  onProgress?: (p: PullProgress) => void;
  onWarning?: (message: string) => void;
  /** used for every endpoint instead of the stored credentials (a Docker API client sends its own) */
  credentials?: RegistryCredentials;
}

/** Tries each endpoint in order; a mirror that fails or lacks the image hands over to the next. */
async function resolveManifest(ref: ImageReference, endpoints: RegistryEndpoint[], platform: Platform | undefined, home: string, given: RegistryCredentials | undefined): Promise<{ client: RegistryClient; repo: string; pulled: PulledManifest; endpoint: RegistryEndpoint }> {
  let last: unknown;
  for (const [i, endpoint] of endpoints.entries()) {
    const credentials = given ?? (await getCredentials(endpoint.registry, { home }));
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

/** The config as a file (downloaded once, under the blob's lock); layers streamed from the registry as they arrive. */
function registryBlobs(store: ImageStore, client: RegistryClient, repo: string, opts: StorePullOptions): BlobSource {
  return {
    // reported like a layer, first: the API's progress messages take the first blob reported for
    // the config, which Docker's clients are not shown (api/progress-messages.ts)
    async file(digest, size) {
      const path = store.blobPath(digest);
      if (existsSync(path)) {
        opts.onProgress?.({ item: short(digest), phase: 'cached', total: size });
        return path;
      }
      return withFileLock(store.lockPath(digest), async () => {
        if (!existsSync(path)) {
          const onProgress = (p: BlobProgress) => opts.onProgress?.({ item: short(digest), phase: 'downloading', received: p.received, total: p.total ?? size });
          await client.getBlob(repo, digest, path, { size, onProgress });
        }
        return path;
      });
    },
    async open(digest, size, signal) {
      // a blob the store has (an earlier pull whose layer was removed, a load): read, not downloaded
      if (existsSync(store.blobPath(digest))) {
        opts.onProgress?.({ item: short(digest), phase: 'cached', total: size });
        return storeBlobSource(store).open(digest, size, signal);
      }
      const onProgress = (p: BlobProgress) => opts.onProgress?.({ item: short(digest), phase: 'downloading', received: p.received, total: p.total ?? size });
      return { stream: client.blobStream(repo, digest, { size, signal, onProgress }), keep: true };
    },
    retryMismatch: true,
  };
}

/** Pulls under the store's shared lock: a prune elsewhere waits rather than take half-installed content. */
export function pullImage(store: ImageStore, reference: string, opts: StorePullOptions): Promise<ImageRecord> {
  return withStoreLock(store, 'shared', () => pullUnlocked(store, reference, opts));
}

async function pullUnlocked(store: ImageStore, reference: string, opts: StorePullOptions): Promise<ImageRecord> {
  store.ensureDirs();
  const ref = parseReference(reference);
  const config = await loadRegistryConfig({ file: join(store.home, 'config.json') });
  opts.onProgress?.({ item: 'manifest', phase: 'resolving' });
  const { client, repo, pulled, endpoint } = await resolveManifest(ref, resolveEndpoints(ref, config), opts.platform, store.home, opts.credentials);
  const input: InstallInput = {
    what: reference,
    manifest: pulled.manifest,
    raw: pulled.raw,
    manifestDigest: pulled.digest,
    manifestMediaType: pulled.mediaType,
    source: `${endpoint.registry}/${endpoint.repository}`,
    name: formatReference(ref),
  };
  return installImage(store, input, registryBlobs(store, client, repo, opts), opts);
}
