/**
 * Whether this process sits in a cgroup v2 subtree delegated to it, in which containers can get
 * their own child cgroups with memory and pids (and ideally cpu) limits. cgroup2 is either mounted
 * at the cgroup root itself or, on hybrid systems, at `<root>/unified`.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isWritableBy, readWords } from './cgroup-files.js';
import type { LayoutProbe } from './layout-probe.js';

export type V2Controller = 'memory' | 'pids' | 'cpu';

export interface V2Layout {
  /** the delegated cgroup whose children the containers become */
  base: string;
  /** the hierarchy's root cgroup is exempt from the "no internal processes" rule */
  isHierarchyRoot: boolean;
  controllers: V2Controller[];
  /** cgroup.freeze exists (kernel 5.2+) */
  canFreeze: boolean;
}

/** The leaf that the processes of `base` move into, so that `base` may enable controllers. */
export const V2_LEAF = 'sandbox';

const WANTED: V2Controller[] = ['memory', 'pids', 'cpu'];

/** The path of our cgroup v2 from /proc/self/cgroup content: the `0::/path` line. */
export function ownV2Path(selfCgroup: string): string | undefined {
  const line = selfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}

export function findV2Layout(root: string, selfCgroup: string, uid: number): LayoutProbe<V2Layout> {
  const unified = [root, join(root, 'unified')].find((dir) => existsSync(join(dir, 'cgroup.controllers')));
  if (unified === undefined) return { why: `no cgroup v2 hierarchy at ${root}` };
  const path = ownV2Path(selfCgroup);
  if (path === undefined) return { why: 'this process is in no cgroup v2 (/proc/self/cgroup has no "0::" line)' };
  const own = join(unified, path.slice(1));
  // a sandbox started from inside our leaf (or started again) uses the leaf's delegated parent
  const base = basename(own) === V2_LEAF && own !== unified && isDelegated(dirname(own), uid) ? dirname(own) : own;
  if (!existsSync(base)) return { why: `our cgroup v2 ${path} is not visible under ${unified}` };
  if (!isDelegated(base, uid)) {
    return { why: `cgroup v2 has no delegated subtree for uid ${uid} (${base} is not writable; no systemd user session with Delegate=yes?)` };
  }
  const offered = readWords(join(base, 'cgroup.controllers'));
  const controllers = WANTED.filter((c) => offered.includes(c));
  if (!controllers.includes('memory') || !controllers.includes('pids')) {
    return { why: `cgroup v2 offers ${offered.length ? offered.join(' ') : 'no controllers'} in ${base}, not memory and pids` };
  }
  return {
    layout: {
      base,
      // only the true root lacks cgroup.type; the root of a cgroup namespace has it
      isHierarchyRoot: base === unified && !existsSync(join(base, 'cgroup.type')),
      controllers,
      canFreeze: existsSync(join(base, 'cgroup.freeze')),
    },
  };
}

/** We may make child cgroups, enable controllers for them and move processes into them. */
function isDelegated(dir: string, uid: number): boolean {
  return ['', 'cgroup.subtree_control', 'cgroup.procs'].every((file) => isWritableBy(join(dir, file), uid));
}
