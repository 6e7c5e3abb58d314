/**
 * Copying into and out of a running container (`docker cp`), done by the sandbox through the
 * container's root as /proc/PID/root sees it. Paths are resolved as the container would resolve them
 * (secureJoin), and node-tar refuses to extract through symlinks: a container cannot steer a copy
 * onto the host's files.
 */
import { mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { c as tarCreate, x as tarExtract } from 'tar';
import { MayflyError } from '../../errors.js';
import { secureJoin } from '../shim/secure-join.js';

/** Extracts `archive` (a tar on the host) into `targetDir` inside the container whose PID 1 is `pid`. */
export async function copyIn(pid: number, archive: string, targetDir: string): Promise<void> {
  const dest = secureJoin(`/proc/${pid}/root`, targetDir);
  try {
    mkdirSync(dest, { recursive: true, mode: 0o755 });
    // files belong to the container's root (we are root of the user namespace), whoever owns them on the host
    await tarExtract({ file: archive, cwd: dest, preserveOwner: false, strict: true });
  } catch (e) {
    throw new MayflyError('COPY_FAILED', `copying into ${targetDir} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes `path` inside the container (a file or a directory, with its contents) as a tar to `archive` on the host. */
export async function copyOut(pid: number, path: string, archive: string): Promise<void> {
  const resolved = secureJoin(`/proc/${pid}/root`, path);
  const name = posix.basename(resolved);
  try {
    await tarCreate({ file: archive, cwd: posix.dirname(resolved), portable: true, follow: false }, [name]);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MayflyError('COPY_FAILED', missing ? `${path} does not exist in the container` : `copying ${path} out failed: ${(e as Error).message}`, { cause: e });
  }
}
