/**
 * The snapshot store's locks, held by the process that starts containers (the sandbox only does
 * the file work): the store lock, shared by starts that copy a snapshot and by commits, exclusive
 * for prune and eviction; and one lock per key, so that concurrent first starts of one
 * configuration initialise once (the others wait, then start from the snapshot).
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock, withFileLock } from '../../sys/locks.js';
import { snapshotLocksDir } from './snapshot-store.js';

function lockFile(home: string, name: string): string {
  const dir = snapshotLocksDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${name}.lock`);
}

export function withSnapshotStoreLock<T>(home: string, mode: 'shared' | 'exclusive', fn: () => Promise<T>): Promise<T> {
  return withFileLock(lockFile(home, 'store'), fn, 25, mode === 'shared');
}

export function withSnapshotKeyLock<T>(home: string, key: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(lockFile(home, key), fn, 25);
}

/** Runs `fn` under the exclusive store lock if nobody holds the lock now; otherwise not at all (undefined). */
export async function ifSnapshotStoreFree<T>(home: string, fn: () => Promise<T>): Promise<T | undefined> {
  const fd = openSync(lockFile(home, 'store'), 'a');
  try {
    if (!tryLock(fd)) return undefined;
    return await fn();
  } finally {
    closeSync(fd);
  }
}
