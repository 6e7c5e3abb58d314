/**
 * Which driver this machine allows, decided once per sandbox by trying: kernel overlayfs inside
 * our user namespace with the upper dir in MAYFLY_HOME; else kernel overlayfs with the upper dir on
 * a tmpfs of the sandbox (MAYFLY_HOME on a filesystem overlayfs refuses as upper: a CI job's
 * overlay root); else fuse-overlayfs; else a copy per container. `mayfly doctor` reports it;
 * MAYFLY_ROOTFS_DRIVER forces one (the shared driver tests use it).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsTypeOf, liftingSetting } from '../../core/confinement.js';
import { writeXattrWhiteout } from '../../image/layer/whiteouts.js';
import type { SyscallError } from '../../sys/libc.js';
import * as mounts from '../../sys/mounts.js';
import { copyDriver } from './copy.js';
import { fuseOverlayDriver } from './fuse-overlayfs.js';
import { mountFuseOverlay } from './fuse-overlayfs-process.js';
import { overlayDriver, overlayOnTmpfsDriver } from './overlay.js';
import type { RootfsDriver, RootfsDriverName } from './rootfs-driver.js';

/** `runDir`: the sandbox's own directory (the overlay drivers keep their layers of mount points there). */
export function rootfsDriver(name: Exclude<RootfsDriverName, 'overlay-tmpfs'>, runDir?: string): RootfsDriver {
  return name === 'overlay' ? overlayDriver(runDir && join(runDir, 'mountpoints')) : name === 'copy' ? copyDriver : fuseOverlayDriver();
}

export interface RootfsChoice {
  driver: RootfsDriver;
  /** why not plain overlay, and what would give it back */
  reason?: string;
  /** said to the owner once: the driver is slow */
  warning?: string;
}

function tryOverlay(lower: string, upper: string, work: string, merged: string): string | undefined {
  try {
    mounts.mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work},userxattr,volatile`);
    mounts.umount(merged);
    return undefined;
  } catch (e) {
    return `mount overlay: ${(e as SyscallError).errnoName ?? (e as Error).message}`;
  }
}

/**
 * Where MAYFLY_HOME refuses 0/0 devices (overlayfs), layers keep their deletions as xattr whiteouts
 * (image/layer/whiteouts.ts), which kernel overlayfs honours only since Linux 6.8: tried on a
 * read-only overlay of two lower dirs. Undefined: fine; else why kernel overlay cannot be used.
 */
function whiteoutsProblem(tmp: string): string | undefined {
  try {
    mounts.mknod(join(tmp, 'device-whiteout'), 0o020000, 0);
    return undefined;
  } catch {
    // refused here: layers get the xattr form
  }
  const [below, above, merged] = ['wo-below', 'wo-above', 'wo-merged'].map((d) => join(tmp, d)) as [string, string, string];
  for (const d of [below, above, merged]) mkdirSync(d);
  writeFileSync(join(below, 'gone'), '');
  writeXattrWhiteout(join(above, 'gone'));
  try {
    mounts.mount('overlay', merged, 'overlay', mounts.MS.RDONLY, `lowerdir=${above}:${below},userxattr`);
  } catch (e) {
    return `overlayfs refused the probe of xattr whiteouts (${(e as Error).message})`;
  }
  const honoured = !existsSync(join(merged, 'gone'));
  mounts.umount(merged);
  return honoured ? undefined : 'MAYFLY_HOME refuses 0/0 whiteout devices and this kernel ignores xattr whiteouts in lower layers (Linux < 6.8), so deleted files would reappear';
}

/** A tmpfs at `dir` in the sandbox's mount namespace, for the containers' upper dirs. */
function mountUpperTmpfs(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mounts.mount('tmpfs', dir, 'tmpfs', mounts.MS.NOSUID | mounts.MS.NODEV, 'mode=700');
  return dir;
}

/** `scratch`: a directory in MAYFLY_HOME to try mounts in; `runDir`: the sandbox's own directory. */
export async function probeRootfsDriver(scratch: string, forced: string | undefined, runDir: string): Promise<RootfsChoice> {
  const upperRoot = join(runDir, 'upper');
  const mountpoints = join(runDir, 'mountpoints');
  if (forced === 'overlay' || forced === 'copy' || forced === 'fuse-overlayfs') return { driver: rootfsDriver(forced, runDir) };
  if (forced === 'overlay-tmpfs') return { driver: overlayOnTmpfsDriver(mountUpperTmpfs(upperRoot), mountpoints), reason: 'forced by MAYFLY_ROOTFS_DRIVER' };
  const tmp = mkdtempSync(join(scratch, 'probe-'));
  const dirs = { lower: join(tmp, 'lower'), upper: join(tmp, 'upper'), work: join(tmp, 'work'), merged: join(tmp, 'merged') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  try {
    const whiteouts = whiteoutsProblem(tmp);
    const why = whiteouts ?? tryOverlay(dirs.lower, dirs.upper, dirs.work, dirs.merged);
    if (!why) return { driver: rootfsDriver('overlay', runDir) };
    // the layers may stay where they are (lower dirs on overlayfs are fine): only the upper dir moves
    mountUpperTmpfs(upperRoot);
    const probe = join(upperRoot, '.probe');
    mkdirSync(join(probe, 'upper'), { recursive: true });
    mkdirSync(join(probe, 'work'));
    const onTmpfs = whiteouts ?? tryOverlay(dirs.lower, join(probe, 'upper'), join(probe, 'work'), dirs.merged);
    rmSync(probe, { recursive: true, force: true });
    if (!onTmpfs) {
      const fs = fsTypeOf(scratch);
      return {
        driver: overlayOnTmpfsDriver(upperRoot, mountpoints),
        reason: `overlayfs refuses an upper dir in MAYFLY_HOME (${scratch}${fs ? `, on ${fs}` : ''}: ${why}), so the containers' writes are kept on a tmpfs (memory); ${liftingSetting('overlay-home')}`,
      };
    }
    mounts.umount(upperRoot);
    if (whiteouts) {
      const warning = `${whiteouts}: containers get a copy of their layers, which is slow; ${liftingSetting('overlay-home')}`;
      return { driver: copyDriver, reason: warning, warning };
    }
    try {
      await (await mountFuseOverlay([dirs.lower], dirs.upper, dirs.work, dirs.merged)).unmount();
      const warning = `kernel overlayfs is refused in a user namespace here (${why}): using fuse-overlayfs, which is slower`;
      return { driver: fuseOverlayDriver(), reason: warning, warning };
    } catch {
      const warning = `neither kernel overlayfs (${why}) nor fuse-overlayfs works here: containers get a copy of their layers, which is slow`;
      return { driver: copyDriver, reason: warning, warning };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
