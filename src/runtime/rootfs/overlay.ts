/**
 * Kernel overlayfs, mounted in the container's own mount namespace by its first process
 * (`userxattr`: rootless; `volatile`: a throwaway upper dir needs no syncs). The fastest driver,
 * and the default. A small layer of mount points goes on top of the image's (mountpoints.ts).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MountpointLayers } from './mountpoints.js';
import type { RootfsDriver, RootfsOwner } from './rootfs-driver.js';

/** upper (the container's changes), work (overlay's scratch), rootfs (the mount point) */
export function makeOverlayDirs(c: RootfsOwner): void {
  for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(c.dir, d), { recursive: true, mode: 0o755 });
}

/** `mountpointsDir`: where this sandbox keeps its layers of mount points (none: the start makes them in the upper dir). */
export function overlayDriver(mountpointsDir?: string): RootfsDriver {
  const mountpoints = mountpointsDir ? new MountpointLayers(mountpointsDir) : undefined;
  /** containers prepared and not mounted yet: their work dir is empty, no need to look */
  const fresh = new Set<string>();
  return {
    name: 'overlay',
    async prepare(c) {
      makeOverlayDirs(c);
      fresh.add(c.dir);
    },
    async mount(c) {
      // a `volatile` overlay leaves a marker in its work dir that refuses a second mount: a restart
      // empties it first (not each exit: most containers are removed next, and that would be wasted)
      const work = join(c.dir, 'work');
      if (!fresh.delete(c.dir) && readdirSync(work).length) {
        rmSync(work, { recursive: true, force: true });
        mkdirSync(work, { mode: 0o755 });
      }
      const lowerDirs = mountpoints ? [...c.layers, mountpoints.for(c.layers)] : [...c.layers];
      return { plan: { driver: 'overlay', lowerDirs, upperDir: join(c.dir, 'upper'), workDir: work, target: join(c.dir, 'rootfs') }, freshShim: false };
    },
    async unmount() {},
    async diff(c) {
      return { dir: join(c.dir, 'upper'), owned: false };
    },
    async remove(c) {
      fresh.delete(c.dir);
    },
  };
}

/**
 * Kernel overlayfs with the writable part on a tmpfs of the sandbox (mounted at `upperRoot` before
 * any shim starts, so every shim's mount namespace has it). For a MAYFLY_HOME whose filesystem
 * overlayfs refuses as an upper dir — overlayfs itself, the root of a CI job's container — while
 * the layers there still serve as lower dirs. Starts as fast as `overlay`; the container's writes
 * are kept in memory until it is removed.
 */
export function overlayOnTmpfsDriver(upperRoot: string, mountpointsDir?: string): RootfsDriver {
  const mountpoints = mountpointsDir ? new MountpointLayers(mountpointsDir) : undefined;
  const dirs = (c: RootfsOwner) => {
    const base = join(upperRoot, basename(c.dir));
    return { base, upper: join(base, 'upper'), work: join(base, 'work') };
  };
  return {
    name: 'overlay-tmpfs',
    async prepare(c) {
      const d = dirs(c);
      for (const dir of [d.upper, d.work, join(c.dir, 'rootfs')]) mkdirSync(dir, { recursive: true, mode: 0o755 });
    },
    async mount(c) {
      const d = dirs(c);
      // as for `overlay`: a volatile mount's work dir refuses a second mount until emptied
      if (readdirSync(d.work).length) {
        rmSync(d.work, { recursive: true, force: true });
        mkdirSync(d.work, { mode: 0o755 });
      }
      const lowerDirs = mountpoints ? [...c.layers, mountpoints.for(c.layers)] : [...c.layers];
      return { plan: { driver: 'overlay', lowerDirs, upperDir: d.upper, workDir: d.work, target: join(c.dir, 'rootfs') }, freshShim: false };
    },
    async unmount() {},
    async diff(c) {
      return { dir: dirs(c).upper, owned: false };
    },
    async remove(c) {
      rmSync(dirs(c).base, { recursive: true, force: true });
    },
  };
}
