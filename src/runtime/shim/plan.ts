/**
 * What the sandbox knows about a start or an exec: everything resolved to paths and numbers. It
 * becomes a list of steps (steps.ts), which the native library or a Node shim runs in a fixed
 * order, reporting which step failed.
 */
export interface ProcessPlan {
  argv: string[];
  /** KEY=VALUE, the image's and the caller's merged; PATH, HOSTNAME and HOME are filled in if absent */
  env: string[];
  workingDir: string;
  /** `name`, `uid`, `name:group` or `uid:gid`, resolved against the container's /etc/passwd and /etc/group */
  user: string;
  /** give the user its supplementary groups: false where one id is mapped (the namespace denies setgroups) */
  setgroups: boolean;
  /** cgroup.procs files to join before anything runs, so every process of the container is counted */
  cgroupProcs: string[];
  /** capability numbers kept in the bounding set (a root process has them; others none); the rest are dropped */
  capabilities: number[];
  /**
   * The seccomp filter, installed as the very last step before execve (after no_new_privs), or null
   * for none: `struct sock_filter` records as four numbers each — code, jt, jf, k — in order.
   * Equivalent to Docker's default profile (src/runtime/seccomp/).
   */
  seccomp: number[] | null;
  /**
   * fds 0-2 are a pty slave (`-t`): the process gets a session of its own with it as controlling
   * terminal, reopened at `path` (its name inside the container, /dev/pts/N; '' keeps the descriptors)
   */
  tty?: { path: string };
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
  /** tmpfs: a directory whose contents it starts with (the lower layer of an overlay) */
  from?: string;
  /** tmpfs with `from`: a host directory where the overlay's own tmpfs (upper and work dirs) is mounted */
  scratch?: string;
  /** tmpfs with `from`: the owner and mode of `from` (its overlay's root takes them) */
  fromOwner?: { uid: number; gid: number; mode: number };
  /** bind: the source is a directory (else a file: the target is made as a file) */
  sourceIsDir?: boolean;
  /** tmpfs: no programs run from it */
  noexec?: boolean;
}

export interface StartPlan extends ProcessPlan {
  kind: 'start';
  rootfs:
    | { driver: 'overlay'; lowerDirs: string[]; upperDir: string; workDir: string; target: string }
    | { driver: 'prepared'; target: string };
  hostname: string;
  /** how the start works around a confined host (a CI job's container) */
  limits: StartLimits;
  /** none: a new namespace with loopback only; host: stay in the host's; netns: join the namespace pinned at that file (user-defined networks) */
  network: 'none' | 'host' | { netns: string };
  mounts: MountPlan[];
  /** files the sandbox wrote (hosts, hostname, resolv.conf) bind-mounted over /etc */
  etcFiles: { source: string; target: string }[];
  /** host path of a static init (tini) to run as PID 1, or null */
  init: string | null;
  /** ids 5 (tty) and others exist inside: devpts may use gid=5 */
  fullIdMap: boolean;
  /**
   * Container paths made read-only (recursively) by binding each onto itself, once every mount is in
   * place; missing ones are skipped. Docker's list (/proc/sys, /proc/sysrq-trigger…), and /sys on the host network.
   */
  readonlyPaths: string[];
  /**
   * Container paths hidden after that: a file gets /dev/null bound over it, a directory an empty
   * read-only tmpfs; missing ones are skipped. Docker's list (/proc/kcore, /proc/keys, /sys/firmware…).
   */
  maskedPaths: string[];
  /** a devpts instance the sandbox mounted for this container (it holds the terminal's pty, `-t`), bound at /dev/pts; null: a new one */
  devpts: string | null;
}

export interface JoinPlan extends ProcessPlan {
  kind: 'join';
  /** the container's PID 1 as the sandbox sees it */
  targetPid: number;
  joinNetwork: boolean;
  /** the container's hostname (HOSTNAME in the environment) */
  hostname: string;
}


/**
 * What a confined host (a CI job's container: masked /proc and /sys, a seccomp filter) refuses in a
 * container's start, found once per sandbox by runtime/start-limits.ts; the step list then takes
 * the way that works. Nothing is tried and failed at each start.
 */
export interface StartLimits {
  /** 'new': a fresh procfs; 'bind': the sandbox's /proc, submounts (the engine's masks) included */
  proc: 'new' | 'bind';
  /** 'new': a fresh sysfs (read-only); 'bind': a read-only bind of the sandbox's /sys */
  sys: 'new' | 'bind';
  /** false where seccomp refuses sethostname: the step is left out */
  sethostname: boolean;
}

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
