/**
 * The image's VOLUMEs, as Docker mounts them: each a fresh directory of the container's own (gone
 * with the container), filled at create with what the image has at that path — owner, mode and
 * files — so that what the service writes there (postgres's data directory) lands in the volume,
 * not in the container's upper dir, and a commit leaves it out.
 */
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../../core/host-tool.js';
import { resolveInRoot } from '../../image/layer/copy-plan.js';
import type { RootfsDriverName } from '../rootfs/rootfs-driver.js';
import { withLayerView } from './layer-view.js';

export function imageVolumeDir(containerDir: string, index: number): string {
  return join(containerDir, 'volumes', String(index));
}

/**
 * The common case without a view: the path is an empty directory in exactly one layer (postgres's
 * data directory, redis's /data): the volume is a new directory with its owner, mode and time.
 */
function emptyDirInOneLayer(layers: readonly string[], target: string, dir: string): boolean {
  const hits = layers.map((l) => join(l, target)).filter((p) => existsSync(p));
  if (hits.length !== 1) return false;
  const st = lstatSync(hits[0]!);
  if (!st.isDirectory() || readdirSync(hits[0]!).length) return false;
  mkdirSync(dir);
  lchownSync(dir, st.uid, st.gid);
  chmodSync(dir, st.mode & 0o7777);
  utimesSync(dir, st.atime, st.mtime);
  return true;
}

export async function prepareImageVolumes(containerDir: string, layers: readonly string[], targets: readonly string[], driver: RootfsDriverName): Promise<void> {
  if (!targets.length) return;
  mkdirSync(join(containerDir, 'volumes'), { recursive: true, mode: 0o700 });
  const rest = [...targets.entries()].filter(([i, target]) => !emptyDirInOneLayer(layers, target, imageVolumeDir(containerDir, i)));
  if (!rest.length) return;
  await withLayerView([...layers], containerDir, driver, async (root) => {
    for (const [i, target] of rest) {
      const dir = imageVolumeDir(containerDir, i);
      const inImage = join(root, resolveInRoot(root, target));
      if (existsSync(inImage) && lstatSync(inImage).isDirectory()) await runTool('cp', ['-a', '--no-target-directory', inImage, dir]);
      else mkdirSync(dir, { mode: 0o755 });
    }
  });
}
