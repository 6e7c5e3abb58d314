/** Resource limits and accounting for one container, through whichever cgroup hierarchy we may use. */
export interface CgroupLimits {
  /** bytes */
  memory?: number;
  /** CPUs, fractional allowed (1.5 = one and a half cores) */
  cpus?: number;
  /** maximum number of processes/threads */
  pids?: number;
}

export interface CgroupStats {
  /** CPU time used, nanoseconds */
  cpuNs?: number;
  /** memory in use, bytes */
  memoryBytes?: number;
  /** memory limit in bytes, when one is set */
  memoryLimit?: number;
  pids?: number;
}

export interface ContainerCgroup {
  /** cgroup.procs files the container's first process writes "0" into before its program runs */
  readonly procsFiles: string[];
  /** true when freeze()/thaw() use a freezer (v1 freezer controller or v2 cgroup.freeze) */
  readonly canFreeze: boolean;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  stats(): CgroupStats;
  /** true when the kernel's OOM killer has killed a process of this cgroup */
  oomKilled(): boolean;
  /** removes the cgroup directories (the processes must be gone) */
  remove(): Promise<void>;
}

export interface CgroupBackend {
  readonly kind: 'v1' | 'v2' | 'none';
  /** why this backend was chosen, or why limits are unavailable; shown by `mayfly doctor` */
  readonly reason: string;
  /** which limits this backend can enforce */
  readonly controllers: ReadonlyArray<'memory' | 'cpu' | 'pids' | 'freezer'>;
  /** creates the container's cgroup(s) and writes its limits; null for the `none` backend */
  create(containerId: string, limits: CgroupLimits): Promise<ContainerCgroup | null>;
  /**
   * Removes empty container cgroups that `isKnown` does not claim (left by a sandbox that was
   * killed). Cgroups that still hold processes, or were made a moment ago, are left alone, unless
   * `orphans` names them (containers known to be dead).
   */
  sweep(isKnown: (containerId: string) => boolean, orphans?: ReadonlySet<string>): Promise<string[]>;
}
