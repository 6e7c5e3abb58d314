/**
 * Cross-process locks on a file (flock): eight test workers pulling one image download each blob
 * once; the others wait, then find it in the store. A dead holder's lock is released by the kernel.
 */
import { closeSync, openSync } from 'node:fs';
import { tryLock } from '../../runtime/syscalls.js';

export async function withFileLock<T>(path: string, fn: () => Promise<T>, pollMs = 25, shared = false): Promise<T> {
  const fd = openSync(path, 'a');
  try {
    while (!tryLock(fd, shared)) await new Promise((r) => setTimeout(r, pollMs));
    return await fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}
