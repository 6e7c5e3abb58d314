/**
 * flock(2): the store's, the sandbox's and the keeper's cross-process locks. Eight test workers
 * pulling one image download each blob once; the others wait, then find it in the store. A dead
 * holder's lock is released by the kernel.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { lastErrno, libcFunction, SyscallError } from './libc.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

const flock = libcFunction('int flock(int fd, int op)');

/** Takes an exclusive (or `shared`) flock on an open file; false when another process holds a conflicting one (non-blocking). */
export function tryLock(fd: number, shared = false): boolean {
  if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) === 0) return true;
  const errno = lastErrno();
  if (errno === constants.errno.EWOULDBLOCK) return false;
  throw new SyscallError('flock', errno, String(fd));
}

/** Runs `fn` holding a flock on `path` (created if missing), polling while another process holds it. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, pollMs = 25, shared = false): Promise<T> {
  const fd = openSync(path, 'a');
  try {
    while (!tryLock(fd, shared)) await new Promise((r) => setTimeout(r, pollMs));
    return await fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}

/**
 * Writes `path` through a temporary file (`path.PID.RANDOM.tmp`) that stays flock'ed until it is
 * renamed into place: readers never see half a file, and a sweeper that can lock a leftover
 * temporary knows its writer died (however it died, whatever pid namespace it was in).
 */
export function atomicWriteLocked(path: string, content: string | Buffer): void {
  for (let attempt = 0; ; attempt++) {
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      tryLock(fd);
      writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
      renameSync(tmp, path);
      return;
    } catch (e) {
      rmSync(tmp, { force: true });
      // a sweeper took the temporary between its creation and its lock: write it again
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
      throw e;
    } finally {
      closeSync(fd);
    }
  }
}

/** Whether the temporary file at `path` was left by a writer that is gone (nobody holds its lock). */
export function abandonedTemporary(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    return tryLock(fd);
  } finally {
    closeSync(fd);
  }
}
