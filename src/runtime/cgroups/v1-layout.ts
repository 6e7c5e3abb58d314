/**
 * Where cgroup v1 keeps the controllers mayfly uses, and whether we may create cgroups there.
 * cpu and cpuacct are sometimes one hierarchy (`cpu,cpuacct`, often with `cpu` as a symlink) and
 * sometimes two separate mounts: paths are resolved so that each hierarchy is used once.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isWritableBy } from './cgroup-files.js';
import type { LayoutProbe } from './layout-probe.js';

/** Hierarchy roots (resolved paths); containers get `<root>/mayfly/<id>` in each. */
export interface V1Layout {
  memory: string;
  cpu: string;
  pids: string;
  /** absent: pause falls back to signals */
  freezer?: string;
  /** absent: no CPU usage in stats */
  cpuacct?: string;
}

/** The parent of all mayfly cgroups in one hierarchy. */
export const V1_PARENT = 'mayfly';

export function findV1Layout(root: string, uid: number): LayoutProbe<V1Layout> {
  const memory = hierarchy(root, 'memory');
  const cpu = hierarchy(root, 'cpu') ?? hierarchy(root, 'cpu,cpuacct');
  const pids = hierarchy(root, 'pids');
  if (!memory || !cpu || !pids) {
    const missing = Object.entries({ memory, cpu, pids }).filter(([, dir]) => !dir);
    return { why: `cgroup v1 has no ${missing.map(([name]) => name).join(', ')} controller under ${root}` };
  }
  const blocked = [memory, cpu, pids].map(parentDir).find((dir) => !isWritableBy(dir, uid));
  if (blocked !== undefined) {
    return {
      why:
        uid === 0
          ? `cgroup v1 at ${blocked} is not writable (root of a user namespace, not of the host?)`
          : `cgroup v1 needs root (uid ${uid} may not write ${blocked})`,
    };
  }
  // the optional controllers are used only where we may write them
  const usable = (dir: string | undefined) => (dir !== undefined && isWritableBy(parentDir(dir), uid) ? dir : undefined);
  const freezer = usable(hierarchy(root, 'freezer'));
  const cpuacct = existsSync(join(cpu, 'cpuacct.usage')) ? cpu : usable(hierarchy(root, 'cpuacct'));
  return { layout: { memory, cpu, pids, ...(freezer && { freezer }), ...(cpuacct && { cpuacct }) } };
}

function hierarchy(root: string, name: string): string | undefined {
  try {
    const dir = realpathSync(join(root, name));
    return statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Where our cgroups are created: `mayfly/` once it exists (root may have chowned it to a user). */
function parentDir(hierarchyRoot: string): string {
  const parent = join(hierarchyRoot, V1_PARENT);
  return existsSync(parent) ? parent : hierarchyRoot;
}
