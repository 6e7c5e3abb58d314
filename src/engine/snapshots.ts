/**
 * Initialised-data snapshots as the engine offers them: look one up, make scratch room for a first
 * start, commit, list, delete. File work goes through the sandbox (the data belongs to the
 * service's users); the locks are taken here, in the process that starts the containers.
 */
import { parseSize } from '../model/container-spec.js';
import type { SandboxClient } from '../runtime/sandbox-client.js';
import { ifSnapshotStoreFree, withSnapshotKeyLock, withSnapshotStoreLock } from '../image/snapshot/snapshot-locks.js';
import { listSnapshots, overCap, snapshotsInUse, type SnapshotCommit, type SnapshotListing, type SnapshotLookup } from '../image/snapshot/snapshot-store.js';

/** Default cap on the snapshots' total size; MAYFLY_SNAPSHOT_CACHE_SIZE (e.g. `2g`) changes it. */
export const DEFAULT_SNAPSHOT_CACHE_BYTES = 4 * 1024 ** 3;

export class SnapshotService {
  constructor(private readonly sandbox: SandboxClient) {}

  get home(): string {
    return this.sandbox.home;
  }

  /** `fn` while no prune or eviction can delete snapshots (a start copying one holds this). */
  inUse<T>(fn: () => Promise<T>): Promise<T> {
    return withSnapshotStoreLock(this.home, 'shared', fn);
  }

  /** `fn` as the only process initialising `key` (the others wait for it). */
  initialising<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return withSnapshotKeyLock(this.home, key, fn);
  }

  lookup(key: string, imageId: string): Promise<SnapshotLookup> {
    return this.sandbox.request('snapshot-lookup', { key, imageId });
  }

  verify(key: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.sandbox.request('snapshot-verify', { key });
  }

  scratch(modes: (number | undefined)[]): Promise<{ id: string; dirs: string[] }> {
    return this.sandbox.request('snapshot-scratch', { modes });
  }

  async discardScratch(id: string): Promise<void> {
    await this.sandbox.request('snapshot-discard-scratch', { id });
  }

  /** The scratch state as the snapshot of `key` (the caller holds the key's lock); then the cache is trimmed to its cap. */
  async commit(args: { key: string; imageId: string; image: string; paths: string[]; scratchId: string }): Promise<SnapshotCommit> {
    const result = await this.inUse(() => this.sandbox.request('snapshot-commit', args));
    if (result.ok) await this.trim(args.key);
    return result;
  }

  list(): SnapshotListing[] {
    return listSnapshots(this.home);
  }

  /** Deletes every snapshot (and what interrupted commits left); waits for starts copying one. */
  async prune(): Promise<string[]> {
    return withSnapshotStoreLock(this.home, 'exclusive', async () => (await this.sandbox.request('remove-snapshots', { all: true })).removed);
  }

  /** Deletes the least recently used snapshots beyond the cap, when no other process is using the store right now (else the next commit does). */
  private async trim(keep: string): Promise<void> {
    const cap = snapshotCacheBytes();
    await ifSnapshotStoreFree(this.home, async () => {
      const victims = overCap(this.list(), cap, new Set([keep, ...snapshotsInUse(this.home)]));
      if (victims.length) await this.sandbox.request('remove-snapshots', { keys: victims });
    });
  }
}

export function snapshotCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.MAYFLY_SNAPSHOT_CACHE_SIZE;
  if (!v) return DEFAULT_SNAPSHOT_CACHE_BYTES;
  return parseSize(v) ?? DEFAULT_SNAPSHOT_CACHE_BYTES;
}
