/**
 * Copying into and out of a running container (`docker cp`). A helper process does it from inside
 * the container's root (copy-helper.ts: chroot through /proc/PID/root), so paths resolve as the
 * container would resolve them at that very moment: a container that swaps a directory for a
 * symlink during the copy only steers the copy elsewhere inside itself, never onto the host.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { distFile } from '../../core/paths.js';
import { MayflyError } from '../../core/errors.js';
import { secureJoin } from '../shim/secure-join.js';

function runHelper(direction: 'in' | 'out', root: string, path: string, archive: string): Promise<{ code: string; message: string } | null> {
  const fd = openSync(archive, direction === 'in' ? 'r' : 'w', 0o600);
  return new Promise((resolve) => {
    let stderr = '';
    const proc = spawn(process.execPath, [distFile('runtime/sandbox/copy-helper.js'), direction, root, path], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    closeSync(fd);
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('error', (e) => resolve({ code: 'SPAWN', message: e.message }));
    proc.once('close', (code, signal) => {
      if (code === 0) return resolve(null);
      try {
        resolve(JSON.parse(stderr.trim().split('\n').at(-1) ?? '') as { code: string; message: string });
      } catch {
        resolve({ code: 'ERROR', message: `copy helper ended with ${signal ?? code}: ${stderr.trim()}` });
      }
    });
  });
}

/** Extracts `archive` (a tar on the host) into `targetDir` inside the container whose root is `root` (`/proc/PID/root` of a running one). */
export async function copyIn(root: string, archive: string, targetDir: string): Promise<void> {
  const failure = await runHelper('in', root, targetDir, archive);
  if (failure) throw new MayflyError('COPY_FAILED', `copying into ${targetDir} failed: ${failure.message}`);
}

/** Writes `path` inside the container (a file or a directory, with its contents) as a tar to `archive` on the host. */
export async function copyOut(root: string, path: string, archive: string): Promise<void> {
  const failure = await runHelper('out', root, path, archive);
  if (failure) {
    throw new MayflyError('COPY_FAILED', failure.code === 'ENOENT' ? `${path} does not exist in the container` : `copying ${path} out failed: ${failure.message}`);
  }
}

/** What a path inside the running container is (resolved as the container resolves it): for `docker cp`'s rules. */
export function pathKind(root: string, path: string): 'dir' | 'file' | 'missing' {
  const st = statSync(secureJoin(root, path), { throwIfNoEntry: false });
  return !st ? 'missing' : st.isDirectory() ? 'dir' : 'file';
}
