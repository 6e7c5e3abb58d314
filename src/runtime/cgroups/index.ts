export { detectCgroups, noCgroups, type DetectCgroupsOptions } from './detect.js';
export { prepareDelegatedCgroup } from './prepare-delegated-cgroup.js';
export type { CgroupBackend, CgroupLimits, CgroupStats, ContainerCgroup } from './types.js';
