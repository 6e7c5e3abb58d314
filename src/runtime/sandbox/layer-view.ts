/**
 * A read-only view of an image's layers as one tree, for the builder's copies (COPY --from, the
 * destination of a COPY resolved in the image): a read-only overlay mount in the sandbox's mount
 * namespace (kernel overlayfs or fuse-overlayfs, as the sandbox's containers use), the layer itself
 * when there is one, or a flattened copy where no overlay works.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../../core/host-tool.js';
import * as sys from '../../sys/mounts.js';
import { overlayMarkers } from '../rootfs/overlay-markers.js';
import { mountFuseOverlay } from '../rootfs/fuse-overlayfs-process.js';
import type { RootfsDriverName } from '../rootfs/rootfs-driver.js';

export async function withLayerView<T>(layers: string[], scratch: string, driver: RootfsDriverName, fn: (root: string) => Promise<T> | T): Promise<T> {
  if (layers.length === 1) return fn(layers[0]!);
  const dir = mkdtempSync(join(scratch, '.view-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  let unmount: () => Promise<void> = async () => {};
  try {
    if (layers.length > 1 && driver === 'overlay') {
      sys.mount('overlay', root, 'overlay', sys.MS.RDONLY, `lowerdir=${[...layers].reverse().join(':')},userxattr`);
      unmount = async () => sys.umount(root);
    } else if (layers.length > 1 && driver === 'fuse-overlayfs') {
      for (const d of ['upper', 'work']) mkdirSync(join(dir, d));
      const m = await mountFuseOverlay(layers, join(dir, 'upper'), join(dir, 'work'), root);
      unmount = () => m.unmount();
    } else {
      for (const layer of layers) {
        const { whiteouts, opaque } = overlayMarkers(layer);
        for (const p of [...whiteouts, ...opaque]) rmSync(join(root, p), { recursive: true, force: true });
        await runTool('cp', ['-a', '--no-target-directory', layer, root]);
        for (const p of whiteouts) rmSync(join(root, p), { force: true });
      }
    }
    return await fn(root);
  } finally {
    await unmount().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
