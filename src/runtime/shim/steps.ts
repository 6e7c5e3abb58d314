/**
 * The container start as one linear list of named steps, made here from a StartPlan (or a JoinPlan
 * for exec) and run by either executor: the native library in the container's first process
 * (native/start/steps.c) or the Node shim (run-steps.ts). Each step is one small operation whose
 * failure names the step; everything is resolved to paths and numbers before anything runs.
 *
 * Adding a kind of step: its operation here (with an OP number, also in native/start/plan.h), its
 * arguments in plan-codec.ts, and its case in both executors.
 */
import type { JoinPlan, MountPlan, ProcessPlan, StartPlan } from './plan.js';

export const OP = {
  unshare: 1,
  'loopback-up': 2,
  setns: 3,
  'write-file': 4,
  mount: 5,
  symlink: 6,
  'pivot-root': 7,
  sethostname: 8,
  'resolve-user': 9,
  'mkdir-all': 10,
  'limit-caps': 11,
  'set-user': 12,
  chdir: 13,
  'find-executable': 14,
  'no-new-privs': 15,
  pdeathsig: 16,
  umask: 17,
  exec: 18,
  mkdir: 19,
  'controlling-terminal': 20,
  'readonly-path': 21,
  'mask-path': 22,
  seccomp: 23,
} as const;

/** Operations only the Node executor has (a step list with one runs in a Node shim). */
export const NODE_ONLY_OPS: ReadonlySet<OpName> = new Set(['seed-tmpfs']);

export type Operation =
  | { op: 'unshare'; flags: number }
  | { op: 'loopback-up' }
  | { op: 'setns'; path: string; nstype: number }
  | { op: 'write-file'; path: string; data: string }
  | {
      op: 'mount';
      source: string | null;
      /** a host path, or with `root` a path inside the container resolved as the container would */
      target: string;
      root: string | null;
      fstype: string | null;
      flags: number;
      data: string | null;
      /** what to create at the target first (missing parents included), with `mode` */
      create: 'none' | 'dir' | 'file';
      mode: number;
      /** remount the bind read-only afterwards, keeping the flags the kernel locked */
      readonly: boolean;
    }
  | { op: 'symlink'; to: string; path: string; root: string }
  | { op: 'pivot-root'; root: string }
  | { op: 'sethostname'; name: string }
  /** `name`, `uid`, `name:group` or `uid:gid` from the (new) root's /etc/passwd and /etc/group */
  | { op: 'resolve-user'; spec: string }
  | { op: 'mkdir-all'; path: string; mode: number }
  /** one directory with exactly this mode, and this owner (-1: the creator's) */
  | { op: 'mkdir'; path: string; mode: number; uid: number; gid: number }
  /**
   * (Node only) a tmpfs at `target` inside `root` that starts with `from`'s contents: an overlay on
   * a tmpfs at `scratch` if overlay works here, else a copy onto it (the copy driver's machines)
   */
  | { op: 'seed-tmpfs'; root: string; target: string; from: string; scratch: string; size: number | null }
  /** capabilities outside `keep` leave the bounding set; the ambient set is cleared */
  | { op: 'limit-caps'; keep: number[] }
  /** `path` inside `root` (resolved as the container would; skipped when missing) bound onto itself and made read-only, submounts included */
  | { op: 'readonly-path'; root: string; path: string }
  /** `path` inside `root` hidden (skipped when missing): an empty read-only tmpfs over a directory, /dev/null over anything else */
  | { op: 'mask-path'; root: string; path: string }
  /** the seccomp filter (`struct sock_filter` records, seccomp/bpf.ts) installed on this thread; execve keeps it */
  | { op: 'seccomp'; filter: number[] }
  /** setgroups (unless `setgroups` is false: a single-id user namespace denies it), setresgid, setresuid to the resolved user */
  | { op: 'set-user'; setgroups: boolean }
  | { op: 'chdir'; path: string }
  /** argv[0] looked up the way execvp does, with this PATH */
  | { op: 'find-executable'; command: string; path: string }
  | { op: 'no-new-privs' }
  | { op: 'pdeathsig'; signal: number }
  | { op: 'umask'; mask: number }
  /**
   * `-t`: setsid; fds 0-2 (a pty slave) reopened at `path` inside the container (when given) and
   * owned by the resolved user; then the controlling terminal of the new session
   */
  | { op: 'controlling-terminal'; path: string }
  /** resets signals and descriptors and execs the found executable; HOME comes from the user when env has none */
  | { op: 'exec'; argv: string[]; env: string[] };

export type Step = Operation & { step: string };

/** What the sandbox sends a waiting Node shim: the steps to run. */
export interface ShimPlan {
  steps: Step[];
}

export type OpName = Operation['op'];

export const CLONE = { NEWNS: 0x20000, NEWUTS: 0x4000000, NEWIPC: 0x8000000, NEWPID: 0x20000000, NEWNET: 0x40000000, FS: 0x200 } as const;

const MS = { RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, BIND: 0x1000, REC: 0x4000, STRICTATIME: 0x1000000 } as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';


const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** The namespaces the container's first process is created in; the net namespace is a step. */
export const START_NAMESPACES = CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC;

function mountStep(step: string, m: Partial<Extract<Operation, { op: 'mount' }>> & { target: string }): Step {
  return { step, op: 'mount', source: null, root: null, fstype: null, flags: 0, data: null, create: 'none', mode: 0o755, readonly: false, ...m };
}

/** Every step of a container's start, up to and including execve. */
export function startSteps(plan: StartPlan): Step[] {
  const steps: Step[] = [];
  const root = plan.rootfs.target;
  const net = plan.network;
  if (net === 'none') {
    steps.push({ step: 'create network namespace', op: 'unshare', flags: CLONE.NEWNET });
    steps.push({ step: 'bring loopback up', op: 'loopback-up' });
  } else if (net !== 'host') {
    steps.push({ step: 'join network namespace', op: 'setns', path: net.netns, nstype: CLONE.NEWNET });
  }
  steps.push(...plan.cgroupProcs.map((path): Step => ({ step: 'join cgroups', op: 'write-file', path, data: '0' })));
  steps.push(rootfsStep(plan));
  const { limits } = plan;
  steps.push(
    limits.proc === 'bind'
      ? // a fresh procfs is refused here (masked paths): the sandbox's, masks included (runtime/start-limits.ts)
        mountStep('mount /proc', { root, target: '/proc', source: '/proc', flags: MS.BIND | MS.REC, create: 'dir' })
      : mountStep('mount /proc', { root, target: '/proc', source: 'proc', fstype: 'proc', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, create: 'dir' }),
  );
  steps.push(...devSteps(root, plan.fullIdMap, plan.devpts));
  steps.push(
    net === 'host'
      ? // sysfs can only be mounted by the owner of the net namespace: show the host's instead
        mountStep('mount /sys', { root, target: '/sys', source: '/sys', flags: MS.BIND | MS.REC, create: 'dir' })
      : limits.sys === 'bind'
        ? // refused like /proc: the sandbox's, read-only
          mountStep('mount /sys', { root, target: '/sys', source: '/sys', flags: MS.BIND | MS.REC, create: 'dir', readonly: true })
        : mountStep('mount /sys', { root, target: '/sys', source: 'sysfs', fstype: 'sysfs', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY, create: 'dir' }),
  );
  steps.push(...plan.mounts.flatMap((m) => userMountSteps(root, m, plan.rootfs.driver === 'overlay')));
  steps.push(...plan.etcFiles.map((f) => mountStep(`mount ${f.target}`, { root, target: f.target, source: f.source, flags: MS.BIND | MS.REC, create: 'file', mode: 0o644 })));
  if (plan.init) steps.push(mountStep('mount init', { root, target: '/dev/init', source: plan.init, flags: MS.BIND | MS.REC, create: 'file', mode: 0o644, readonly: true }));
  // once every mount is in place: Docker's read-only and masked kernel interfaces (plan data, isolation.ts)
  steps.push(...plan.readonlyPaths.map((path): Step => ({ step: `read-only ${path}`, op: 'readonly-path', root, path })));
  steps.push(...plan.maskedPaths.map((path): Step => ({ step: `mask ${path}`, op: 'mask-path', root, path })));
  steps.push({ step: 'pivot_root', op: 'pivot-root', root });
  // where seccomp refuses sethostname the container keeps the sandbox's name in uname (its /etc/hostname and HOSTNAME are its own)
  if (limits.sethostname) steps.push({ step: 'set hostname', op: 'sethostname', name: plan.hostname });
  const argv = plan.init ? ['/dev/init', '--', ...plan.argv] : plan.argv;
  steps.push(...processSteps(plan, plan.hostname, argv));
  return steps;
}

/** exec: join a running container's cgroups and namespaces (its pid namespace was joined by the caller), then the same process set-up. */
export function joinSteps(plan: JoinPlan): Step[] {
  const ns = (name: string) => `/proc/${plan.targetPid}/ns/${name}`;
  return [
    ...plan.cgroupProcs.map((path): Step => ({ step: 'join cgroups', op: 'write-file', path, data: '0' })),
    { step: 'join namespaces', op: 'setns', path: ns('ipc'), nstype: CLONE.NEWIPC },
    { step: 'join namespaces', op: 'setns', path: ns('uts'), nstype: CLONE.NEWUTS },
    ...(plan.joinNetwork ? [{ step: 'join namespaces', op: 'setns', path: ns('net'), nstype: CLONE.NEWNET } as Step] : []),
    // setns into a mount namespace needs a filesystem context of the caller's own (Node's threads share one)
    { step: 'join namespaces', op: 'unshare', flags: CLONE.FS },
    { step: 'join namespaces', op: 'setns', path: ns('mnt'), nstype: CLONE.NEWNS },
    ...processSteps(plan, plan.hostname, plan.argv),
  ];
}

function rootfsStep(plan: StartPlan): Step {
  const r = plan.rootfs;
  // pivot_root needs the new root to be a mount point: a prepared directory becomes one by a bind
  if (r.driver === 'prepared') return mountStep('mount root filesystem', { target: r.target, source: r.target, flags: MS.BIND | MS.REC });
  // overlay wants the top layer first; `userxattr` lets it keep whiteouts as user.* xattrs inside a
  // user namespace, and `volatile` skips syncs nobody needs for a throwaway upper dir.
  const lower = [...r.lowerDirs].reverse().join(':');
  return mountStep('mount root filesystem', {
    target: r.target,
    source: 'overlay',
    fstype: 'overlay',
    data: `lowerdir=${lower},upperdir=${r.upperDir},workdir=${r.workDir},userxattr,volatile`,
  });
}

/** A container's devpts: its own instance (ptys numbered from 0); gid 5 (tty) where that id is mapped. */
export const DEVPTS_FLAGS = MS.NOSUID | MS.NOEXEC;
export const devptsOptions = (fullIdMap: boolean) => `newinstance,ptmxmode=0666,mode=0620${fullIdMap ? ',gid=5' : ''}`;

/** `devpts`: a devpts instance the sandbox mounted for this container (its terminal's, `-t`), bound instead of a new one */
function devSteps(root: string, fullIdMap: boolean, devpts: string | null): Step[] {
  const s = 'mount /dev';
  return [
    mountStep(s, { root, target: '/dev', source: 'tmpfs', fstype: 'tmpfs', flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k', create: 'dir' }),
    // device nodes cannot be made in a user namespace: bind the host's harmless ones
    ...DEVICES.map((name) => mountStep(s, { root, target: `/dev/${name}`, source: `/dev/${name}`, flags: MS.BIND, create: 'file', mode: 0o666 })),
    devpts
      ? mountStep(s, { root, target: '/dev/pts', source: devpts, flags: MS.BIND, create: 'dir' })
      : mountStep(s, {
      root,
      target: '/dev/pts',
      source: 'devpts',
      fstype: 'devpts',
      flags: DEVPTS_FLAGS,
      data: devptsOptions(fullIdMap),
      create: 'dir',
    }),
    { step: s, op: 'symlink', to: 'pts/ptmx', path: '/dev/ptmx', root },
    mountStep(s, { root, target: '/dev/shm', source: 'shm', fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'mode=1777,size=65536k', create: 'dir', mode: 0o1777 }),
    mountStep(s, { root, target: '/dev/mqueue', source: 'mqueue', fstype: 'mqueue', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, create: 'dir' }),
    ...(
      [
        ['fd', '/proc/self/fd'],
        ['stdin', '/proc/self/fd/0'],
        ['stdout', '/proc/self/fd/1'],
        ['stderr', '/proc/self/fd/2'],
      ] as const
    ).map(([link, to]): Step => ({ step: s, op: 'symlink', to, path: `/dev/${link}`, root })),
  ];
}

/** `overlayWorks`: kernel overlay mounts in this user namespace (the rootfs driver is overlay). */
function userMountSteps(root: string, m: MountPlan, overlayWorks: boolean): Step[] {
  const step = `mount ${m.target}`;
  if (m.kind === 'tmpfs' && m.from) {
    if (!overlayWorks) return [{ step, op: 'seed-tmpfs', root, target: m.target, from: m.from, scratch: m.scratch!, size: m.size ?? null }];
    // A tmpfs that starts with a directory's contents without copying them: an overlay whose lower
    // layer is the directory, its upper and work dirs on a tmpfs of their own at `scratch` (a path
    // of the container's directory, never visible inside); its root takes the directory's owner and mode.
    const upper = `${m.scratch}/upper`;
    const work = `${m.scratch}/work`;
    const owner = m.fromOwner!;
    return [
      mountStep(step, { target: m.scratch!, source: 'tmpfs', fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV, data: [m.size ? `size=${m.size}` : '', 'mode=755'].filter(Boolean).join(','), create: 'dir' }),
      { step, op: 'mkdir', path: upper, mode: owner.mode, uid: owner.uid, gid: owner.gid },
      { step, op: 'mkdir', path: work, mode: 0o700, uid: -1, gid: -1 },
      mountStep(step, { root, target: m.target, source: 'overlay', fstype: 'overlay', flags: MS.NOSUID | MS.NODEV, data: `lowerdir=${m.from},upperdir=${upper},workdir=${work},userxattr,volatile`, create: 'dir' }),
    ];
  }
  return [userMountStep(root, m, step)];
}

function userMountStep(root: string, m: MountPlan, step: string): Step {
  if (m.kind === 'tmpfs') {
    const opts = [m.size ? `size=${m.size}` : '', m.mode !== undefined ? `mode=${m.mode.toString(8)}` : ''].filter(Boolean).join(',');
    return mountStep(step, { root, target: m.target, source: 'tmpfs', fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV | (m.noexec ? MS.NOEXEC : 0), data: opts || null, create: 'dir' });
  }
  return mountStep(step, {
    root,
    target: m.target,
    source: m.source,
    flags: MS.BIND | MS.REC,
    create: m.sourceIsDir === false ? 'file' : 'dir',
    mode: m.sourceIsDir === false ? 0o644 : 0o755,
    readonly: m.readonly,
  });
}

function envWithDefaults(env: string[], extra: Record<string, string>): string[] {
  const keys = new Set(env.map((e) => e.slice(0, e.indexOf('=') >>> 0)));
  const out = [...env];
  for (const [k, v] of Object.entries(extra)) if (!keys.has(k)) out.push(`${k}=${v}`);
  return out;
}

function envValue(env: string[], key: string): string | undefined {
  return env.findLast((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);
}

/** The last steps before the program replaces the process: who it runs as, what it may do, where it starts. */
function processSteps(plan: ProcessPlan, hostname: string, argv: string[]): Step[] {
  const env = envWithDefaults(plan.env, { PATH: DEFAULT_PATH, HOSTNAME: hostname });
  return [
    { step: 'resolve user', op: 'resolve-user', spec: plan.user },
    { step: 'create working directory', op: 'mkdir-all', path: plan.workingDir, mode: 0o755 },
    // as root, before the capabilities go: the terminal is chowned to the user
    ...(plan.tty ? [{ step: 'controlling terminal', op: 'controlling-terminal', path: plan.tty.path } as Step] : []),
    { step: 'limit capabilities', op: 'limit-caps', keep: plan.capabilities },
    { step: 'set user', op: 'set-user', setgroups: plan.setgroups },
    { step: 'enter working directory', op: 'chdir', path: plan.workingDir },
    { step: 'find executable', op: 'find-executable', command: argv[0]!, path: envValue(env, 'PATH') ?? DEFAULT_PATH },
    { step: 'no_new_privs', op: 'no-new-privs' },
    // set after the uid change, which clears it: the container dies with its supervising process
    { step: 'parent-death signal', op: 'pdeathsig', signal: 9 },
    { step: 'umask', op: 'umask', mask: 0o022 },
    // the last step before execve: what runs after it (the exec step's resets, execve) is all in the filter's allow list
    ...(plan.seccomp ? [{ step: 'seccomp', op: 'seccomp', filter: plan.seccomp } as Step] : []),
    { step: 'execve', op: 'exec', argv, env },
  ];
}
