/**
 * Makes a delegated cgroup v2 subtree ready for container cgroups. The "no internal processes" rule:
 * a cgroup that enables controllers for its children may hold no processes itself. So, as podman
 * does, everything in our cgroup first moves into a leaf; the containers' cgroups become its siblings.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import { cgroupError, errorCode, makeCgroupDir, readWords, writeControl } from './cgroup-files.js';
import { V2_LEAF, type V2Controller, type V2Layout } from './v2-layout.js';

export async function prepareV2Subtree(layout: V2Layout): Promise<void> {
  if (!layout.isHierarchyRoot) await moveProcessesToLeaf(layout.base);
  await enableControllers(layout.base, layout.controllers);
}

/** Moves every process of `base` (this one included) into `base/sandbox`. */
export async function moveProcessesToLeaf(base: string): Promise<void> {
  const pids = readWords(join(base, 'cgroup.procs')).map(Number);
  if (pids.length === 0) return;
  const leaf = join(base, V2_LEAF);
  // processes outside our pid namespace are listed as 0 and cannot be named, so cannot be moved
  if (pids.includes(0)) {
    throw new MayflyError('CGROUP_FAILED', `cgroup ${base} also holds processes outside this pid namespace`, {
      hint: `move them into ${leaf} from the host (write each pid to ${leaf}/cgroup.procs) before mayfly starts its sandbox`,
      details: { base },
    });
  }
  await makeCgroupDir(leaf);
  // "0" names the writer itself, whatever pid namespace it is in
  await writeControl(join(leaf, 'cgroup.procs'), '0');
  for (const pid of pids) {
    if (pid === process.pid) continue;
    // a process that exited meanwhile needs no move
    await writeControl(join(leaf, 'cgroup.procs'), pid).catch(() => {});
  }
}

async function enableControllers(base: string, controllers: V2Controller[]): Promise<void> {
  const enabled = readWords(join(base, 'cgroup.subtree_control'));
  const missing = controllers.filter((c) => !enabled.includes(c));
  if (missing.length === 0) return;
  const file = join(base, 'cgroup.subtree_control');
  const value = missing.map((c) => `+${c}`).join(' ');
  try {
    await writeFile(file, value);
  } catch (cause) {
    // EBUSY: a process still lives in base itself, which the kernel forbids once controllers are on
    const hint = errorCode(cause) === 'EBUSY' ? `move every process of ${base} into ${join(base, V2_LEAF)}` : undefined;
    throw cgroupError(`cannot enable ${value} in ${file}`, cause, { path: file, value }, hint);
  }
}
