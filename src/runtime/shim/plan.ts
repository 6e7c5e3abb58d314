/**
 * What the sandbox hands a shim: everything already resolved to paths and numbers, so that the shim
 * only performs system calls in a fixed order and reports which step failed.
 */
export interface ProcessPlan {
  argv: string[];
  /** KEY=VALUE, the image's and the caller's merged; PATH, HOSTNAME and HOME are filled in if absent */
  env: string[];
  workingDir: string;
  /** `name`, `uid`, `name:group` or `uid:gid`, resolved against the container's /etc/passwd and /etc/group */
  user: string;
  /** cgroup.procs files to join before anything runs, so every process of the container is counted */
  cgroupProcs: string[];
}

export interface MountPlan {
  source: string;
  /** path inside the container */
  target: string;
  kind: 'bind' | 'tmpfs';
  readonly: boolean;
  /** tmpfs: size in bytes */
  size?: number;
  /** tmpfs: permission bits */
  mode?: number;
}

export interface StartPlan extends ProcessPlan {
  kind: 'start';
  rootfs:
    | { driver: 'overlay'; lowerDirs: string[]; upperDir: string; workDir: string; target: string }
    | { driver: 'prepared'; target: string };
  hostname: string;
  /** none: a new namespace with loopback only; host: stay in the host's; netns: join the namespace pinned at that file (user-defined networks) */
  network: 'none' | 'host' | { netns: string };
  mounts: MountPlan[];
  /** files the sandbox wrote (hosts, hostname, resolv.conf) bind-mounted over /etc */
  etcFiles: { source: string; target: string }[];
  /** host path of a static init (tini) to run as PID 1, or null */
  init: string | null;
  /** ids 5 (tty) and others exist inside: devpts may use gid=5 */
  fullIdMap: boolean;
}

export interface JoinPlan extends ProcessPlan {
  kind: 'join';
  /** the container's PID 1 as the sandbox sees it */
  targetPid: number;
  joinNetwork: boolean;
}

export type ShimPlan = StartPlan | JoinPlan;

/** Messages a shim sends to the sandbox. */
export type ShimMessage =
  /** `channel`: the IPC socket as /proc/PID/fd shows it; it vanishes from there when execve succeeds */
  | { type: 'ready'; channel: string }
  /** sent just before execve */
  | { type: 'exec' }
  | { type: 'failed'; step: string; message: string; exitCode: number; errno?: string };

/**
 * How a shim's descriptors are laid out by the sandbox (spawnShimProcess): the wrapper (unshare,
 * nsenter) keeps fd 2 for its own diagnostics, so that they never mix with the container's stderr,
 * which comes in on fd 4 and is moved to 2 just before execve; fd 1 and 4 are real pipes.
 */
export const SHIM_CHANNEL_FD = 3;
export const SHIM_STDERR_FD = 4;

/** Docker's conventions: 125 runtime failure, 126 not executable, 127 not found. */
export const EXIT = { RUNTIME: 125, NOT_EXECUTABLE: 126, NOT_FOUND: 127 } as const;
