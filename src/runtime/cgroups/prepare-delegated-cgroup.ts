/**
 * For the host side, before it starts a sandbox in a new pid namespace. In a delegated cgroup v2
 * subtree the sandbox must empty its cgroup before enabling controllers, but processes outside its
 * pid namespace (the caller, `unshare`) share that cgroup and cannot be named from inside. Moving
 * them all into the `sandbox` leaf here lets the sandbox build on the leaf's parent instead.
 */
import { type DetectCgroupsOptions, withDefaults } from './detect.js';
import { findV2Layout } from './v2-layout.js';
import { moveProcessesToLeaf } from './v2-subtree.js';

/** Does nothing unless a delegated cgroup v2 subtree is there; throws CGROUP_FAILED if the move fails. */
export async function prepareDelegatedCgroup(opts: DetectCgroupsOptions = {}): Promise<void> {
  const { root, selfCgroup, uid } = withDefaults(opts);
  const v2 = findV2Layout(root, selfCgroup, uid);
  if ('layout' in v2 && !v2.layout.isHierarchyRoot) await moveProcessesToLeaf(v2.layout.base);
}
