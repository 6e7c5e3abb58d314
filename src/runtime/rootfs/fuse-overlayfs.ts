/**
 * fuse-overlayfs, where the kernel refuses overlayfs in a user namespace: mounted by the sandbox
 * before each start (so a shim started after it inherits the mount) and unmounted at exit.
 */
import { join } from 'node:path';
import { mountFuseOverlay, type FuseMount } from './fuse-overlayfs-process.js';
import { makeOverlayDirs } from './overlay.js';
import type { RootfsDriver, RootfsOwner } from './rootfs-driver.js';

export function fuseOverlayDriver(): RootfsDriver {
  const mounted = new Map<string, FuseMount>();
  const unmount = async (c: RootfsOwner) => {
    await mounted.get(c.dir)?.unmount();
    mounted.delete(c.dir);
  };
  return {
    name: 'fuse-overlayfs',
    async prepare(c) {
      makeOverlayDirs(c);
    },
    async mount(c) {
      const target = join(c.dir, 'rootfs');
      mounted.set(c.dir, await mountFuseOverlay([...c.layers], join(c.dir, 'upper'), join(c.dir, 'work'), target));
      return { plan: { driver: 'prepared', target }, freshShim: true };
    },
    unmount,
    async diff(c) {
      return { dir: join(c.dir, 'upper'), owned: false };
    },
    remove: unmount,
  };
}
