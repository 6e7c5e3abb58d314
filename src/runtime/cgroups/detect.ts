/**
 * Picks the cgroup hierarchy mayfly can use for limits: a delegated cgroup v2 subtree first (the
 * only rootless way), then cgroup v1 as root, else none, with the reason `mayfly doctor` shows.
 * The decision looks only at the tree under `root` and the given /proc/self/cgroup text, so fake
 * trees can test it.
 */
import { readControl } from './cgroup-files.js';
import type { CgroupBackend } from './types.js';
import { createV1Backend } from './v1.js';
import { findV1Layout } from './v1-layout.js';
import { createV2Backend } from './v2.js';
import { findV2Layout } from './v2-layout.js';

export interface DetectCgroupsOptions {
  /** where cgroupfs is mounted; default /sys/fs/cgroup */
  root?: string;
  /** the content of /proc/self/cgroup; default: read it */
  selfCgroup?: string;
  /** default: process.getuid() */
  uid?: number;
}

export function detectCgroups(opts: DetectCgroupsOptions = {}): CgroupBackend {
  const { root, selfCgroup, uid } = withDefaults(opts);
  const v2 = findV2Layout(root, selfCgroup, uid);
  if ('layout' in v2) return createV2Backend(v2.layout);
  const v1 = findV1Layout(root, uid);
  if ('layout' in v1) return createV1Backend(v1.layout);
  return noCgroups(
    `${v2.why}; ${v1.why}: limits are not enforced; run as root, or use a systemd user session with Delegate=yes`,
  );
}

export function withDefaults(opts: DetectCgroupsOptions): Required<DetectCgroupsOptions> {
  return {
    root: opts.root ?? '/sys/fs/cgroup',
    selfCgroup: opts.selfCgroup ?? readControl('/proc/self/cgroup') ?? '',
    uid: opts.uid ?? process.getuid?.() ?? 0,
  };
}

export function noCgroups(reason: string): CgroupBackend {
  return { kind: 'none', reason, controllers: [], create: async () => null, sweep: async () => [] };
}
