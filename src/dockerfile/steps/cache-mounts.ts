/**
 * `RUN --mount=type=cache`: a directory in MAYFLY_HOME per cache id (the target when no id is
 * given), shared by every build of this home, so `npm ci` and `apt-get` find their downloads again.
 * It is locked while a step uses it (flock, so across processes too): `sharing=shared` (the default)
 * lets steps use it together, `locked` waits for sole use, `private` takes another instance when
 * the first is busy.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from '../../sys/locks.js';
import type { RunMount } from '../dockerfile/mounts.js';
import type { BuildHost } from '../build-host.js';

export interface HeldCache {
  dir: string;
  release(): void;
}

type CacheMount = Extract<RunMount, { type: 'cache' }>;

export function cacheMountsDir(home: string): string {
  return join(home, 'build-cache-mounts');
}

async function lock(file: string, shared: boolean, wait: boolean, signal?: AbortSignal): Promise<number | undefined> {
  const fd = openSync(file, 'a', 0o600);
  for (;;) {
    if (tryLock(fd, shared)) return fd;
    if (!wait || signal?.aborted) {
      closeSync(fd);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function acquireCacheMount(host: BuildHost, m: CacheMount, signal?: AbortSignal): Promise<HeldCache> {
  const root = cacheMountsDir(host.home);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const base = join(root, createHash('sha256').update(m.id).digest('hex').slice(0, 32));
  for (let n = 0; ; n++) {
    const dir = n ? `${base}-${n}` : base;
    const fd = await lock(`${dir}.lock`, m.sharing === 'shared', m.sharing !== 'private', signal);
    if (fd === undefined) {
      if (signal?.aborted) throw signal.reason;
      continue; // private: this instance is busy, take the next
    }
    if (!existsSync(dir)) await host.preparePath({ path: dir, kind: 'dir', mode: m.mode, uid: m.uid, gid: m.gid });
    return { dir, release: () => closeSync(fd) };
  }
}
