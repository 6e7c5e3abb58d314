/**
 * A copy into or out of a running container, made by a process whose root directory is the
 * container's own (chroot through /proc/PID/root): every path, symlink and `..` resolves as the
 * container sees it, however the container swaps its directories meanwhile — nothing can lead
 * back to the host's files. The archive (a host file) comes opened as fd 3.
 *
 *   node copy-helper.js in ROOT TARGET_DIR   (tar on fd 3, read)
 *   node copy-helper.js out ROOT PATH        (tar on fd 3, written)
 *
 * ROOT is `/proc/PID/root` of a running container, or the mount of a created or stopped one's.
 *
 * Fails with a JSON line on stderr: { code: 'ENOENT' | …, message }.
 */
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { c as tarCreate, x as tarExtract } from 'tar';
import * as mounts from '../../sys/mounts.js';
import { secureJoin } from '../shim/secure-join.js';

const ARCHIVE_FD = 3;

async function main(): Promise<void> {
  const [direction, root, path] = process.argv.slice(2);
  if ((direction !== 'in' && direction !== 'out') || !root?.startsWith('/') || !path?.startsWith('/')) throw new Error('usage: copy-helper in|out ROOT ABSOLUTE_PATH');
  mounts.chroot(root);
  mounts.chdir('/');
  if (direction === 'in') {
    // a dangling symlink on the way (to a path that is the host's, say) is followed inside, as the container sees it
    const dir = secureJoin('/', path);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    // files belong to the container's root (we are root of the user namespace), whoever owns them on the host
    // node-tar's escape check wants every entry under `cwd + '/'`, which nothing is when cwd is '/':
    // there it is off (`..` and absolute names stay inside the chroot, the container's root, anyway)
    await pipeline(createReadStream('', { fd: ARCHIVE_FD }), tarExtract({ cwd: dir, preserveOwner: false, strict: true, preservePaths: dir === '/' }));
  } else {
    const normal = posix.normalize(path);
    const parent = posix.dirname(normal);
    await pipeline(tarCreate({ cwd: parent, portable: true, follow: false }, [posix.basename(normal) || '.']), createWriteStream('', { fd: ARCHIVE_FD }));
  }
}

main().then(
  () => process.exit(0),
  (e: NodeJS.ErrnoException) => {
    process.stderr.write(`${JSON.stringify({ code: e.code ?? 'ERROR', message: e.message })}\n`);
    process.exit(1);
  },
);
