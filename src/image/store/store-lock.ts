/**
 * The store-wide lock: pulls and loads hold it shared for as long as they add blobs and layers
 * that no record names yet; prune and rmi hold it exclusively while they decide what is
 * unreferenced and delete it, so they never take content an install in another process is using.
 */
import { join } from 'node:path';
import type { ImageStore } from './image-store.js';
import { withFileLock } from '../../sys/locks.js';

export function withStoreLock<T>(store: ImageStore, mode: 'shared' | 'exclusive', fn: () => Promise<T>): Promise<T> {
  store.ensureDirs();
  return withFileLock(join(store.home, 'locks', 'store.lock'), fn, 25, mode === 'shared');
}
