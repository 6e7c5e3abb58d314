/**
 * Overlayfs's formats for what a layer deletes, as the store keeps them in layer directories:
 *  - a 0/0 character device at the deleted path: the classic whiteout, allowed to any user since
 *    Linux 5.8 — but refused by overlayfs itself (EPERM), so not where MAYFLY_HOME lies on an
 *    overlay root, as in a CI job's container;
 *  - there, an empty regular file with `user.overlay.whiteout` set, its directory marked with
 *    `user.overlay.opaque=x` ("holds such whiteouts", not opaque): overlayfs honours these in lower
 *    layers since Linux 6.8 (the rootfs probe checks before relying on it);
 *  - `user.overlay.opaque=y` on a directory: it hides what the layers below have in it.
 */
import { closeSync, lstatSync, openSync, constants as fsc, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { mknod } from '../../sys/mounts.js';
import { lsetxattr, xattrText } from '../../sys/xattr.js';

export const OPAQUE_XATTR = 'user.overlay.opaque';
export const WHITEOUT_XATTR = 'user.overlay.whiteout';
const S_IFCHR = 0o020000;

/** Records that `path` is deleted: a 0/0 device where the filesystem allows one, else the xattr form. */
export function writeWhiteout(path: string): void {
  try {
    mknod(path, S_IFCHR, 0);
  } catch (e) {
    if ((e as { errnoName?: string }).errnoName !== 'EPERM') throw e;
    writeXattrWhiteout(path);
  }
}

export function writeXattrWhiteout(path: string): void {
  closeSync(openSync(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY | fsc.O_NOFOLLOW, 0o644));
  lsetxattr(path, WHITEOUT_XATTR, 'y');
  // an opaque directory hides the layers below anyway: only a plain one needs the marker
  const dir = dirname(path);
  if (xattrText(dir, OPAQUE_XATTR) !== 'y') lsetxattr(dir, OPAQUE_XATTR, 'x');
}

/** Whether the entry at `path` is a whiteout, in either format. */
export function isWhiteout(path: string, st: Stats = lstatSync(path)): boolean {
  if (st.isCharacterDevice()) return st.rdev === 0;
  return st.isFile() && st.size === 0 && xattrText(path, WHITEOUT_XATTR) === 'y';
}

/** Whether the directory hides what the layers below have in it (`x` only marks xattr whiteouts inside). */
export function isOpaque(dir: string): boolean {
  return xattrText(dir, OPAQUE_XATTR) === 'y';
}
