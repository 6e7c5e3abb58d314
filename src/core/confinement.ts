/**
 * What the container engine that runs us withholds — a CI job's container under docker, podman or
 * Kubernetes: a seccomp filter, a reduced capability set, masked /proc and /sys paths, missing
 * devices — read from /proc, and for each limit the one engine or pod setting that lifts it, in
 * that engine's words. The runtime decides how to work around a limit; this module only knows
 * the facts and the settings, so that doctor, errors and warnings all name the same fix.
 */
import { existsSync } from 'node:fs';
import { readTextIfPresent } from './files.js';

export type Engine = 'podman' | 'docker' | 'kubernetes' | 'container';

/** capability numbers (linux/capability.h) */
export const CAP = { SETGID: 6, SETUID: 7, SYS_ADMIN: 21, SETFCAP: 31 } as const;

export interface Confinement {
  /** the engine running this process, if it runs in a container */
  engine: Engine | undefined;
  /** a seccomp filter is in force (Seccomp: 2) */
  seccomp: boolean;
  noNewPrivs: boolean;
  effectiveCaps: bigint;
  boundingCaps: bigint;
  /** mount points under /proc that hide parts of it (an engine's masked and read-only paths) */
  procMasks: string[];
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  options: string;
}

/** /proc/self/mountinfo, parsed (octal escapes in paths decoded). */
export function parseMountinfo(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(' ');
    const [fsType] = line.slice(sep + 3).split(' ');
    if (f.length < 6 || !fsType) continue;
    out.push({ mountPoint: unescape(f[4]!), fsType, options: f[5]! });
  }
  return out;
}

/** Mounts on top of /proc's own entries. binfmt_misc sits on an empty directory and hides nothing. */
export function procMasksIn(mounts: MountEntry[]): string[] {
  return mounts.map((m) => m.mountPoint).filter((p) => p.startsWith('/proc/') && p !== '/proc/sys/fs/binfmt_misc');
}

/** The filesystem type of the mount that holds `path` (the longest mount point above it). */
export function fsTypeOf(path: string, mounts: MountEntry[] = parseMountinfo(readTextIfPresent('/proc/self/mountinfo') ?? '')): string | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`);
    // the later of two entries on one mount point is the one on top
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best?.fsType;
}

export function parseStatus(text: string): Pick<Confinement, 'seccomp' | 'noNewPrivs' | 'effectiveCaps' | 'boundingCaps'> {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  const hex = (v: string | undefined) => (v ? BigInt(`0x${v}`) : 0n);
  return {
    seccomp: field('Seccomp') === '2',
    noNewPrivs: field('NoNewPrivs') === '1',
    effectiveCaps: hex(field('CapEff')),
    boundingCaps: hex(field('CapBnd')),
  };
}

export function hasCap(set: bigint, cap: number): boolean {
  return (set & (1n << BigInt(cap))) !== 0n;
}

function detectEngine(env: NodeJS.ProcessEnv): Engine | undefined {
  if (env.KUBERNETES_SERVICE_HOST) return 'kubernetes';
  if (existsSync('/run/.containerenv') || env.container === 'podman') return 'podman';
  if (existsSync('/.dockerenv')) return 'docker';
  if (env.container) return 'container';
  return undefined;
}

let cached: Confinement | undefined;

/** This process's confinement (read once: it cannot change while we run). */
export function confinement(): Confinement {
  cached ??= {
    engine: detectEngine(process.env),
    ...parseStatus(readTextIfPresent('/proc/self/status') ?? ''),
    procMasks: procMasksIn(parseMountinfo(readTextIfPresent('/proc/self/mountinfo') ?? '')),
  };
  return cached;
}

/** The limits an engine can impose on mayfly, each lifted by one setting. */
export type Limit =
  /** masked paths in /proc (and /sys): a fresh procfs or sysfs is refused in a user namespace */
  | 'masked-proc'
  /** seccomp refuses sethostname (it wants CAP_SYS_ADMIN) */
  | 'seccomp-sethostname'
  /** seccomp refuses unshare/clone of a user namespace (Docker's and containerd's default profile) */
  | 'seccomp-userns'
  /** uid 0 without CAP_SETFCAP may not map itself into a user namespace (Linux >= 5.12) */
  | 'root-without-setfcap'
  /** root without CAP_SETUID/CAP_SETGID maps only itself */
  | 'root-without-setuid'
  /** the setuid newuidmap cannot work: it needs CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID in the bounding set, and no no_new_privs */
  | 'subid-helper'
  | 'no-fuse'
  | 'no-tun'
  /** MAYFLY_HOME on the job's overlay root: overlayfs refuses an upper dir there */
  | 'overlay-home';

type Settings = { engine: string; kubernetes: string };

const SETTINGS: Record<Limit, Settings> = {
  'masked-proc': {
    engine: 'podman: --security-opt unmask=ALL; docker: --security-opt systempaths=unconfined',
    kubernetes: 'securityContext.procMount: Unmasked (with hostUsers: false)',
  },
  'seccomp-sethostname': {
    engine: '--security-opt seccomp=PROFILE with a profile that allows sethostname (or seccomp=unconfined)',
    kubernetes: 'securityContext.seccompProfile {type: Localhost} with a profile that allows sethostname (or type: Unconfined)',
  },
  'seccomp-userns': {
    engine: '--security-opt seccomp=PROFILE with a profile that allows unshare, clone with CLONE_NEWUSER, mount, umount2, setns and pivot_root (podman\'s default profile does; or seccomp=unconfined)',
    kubernetes: 'securityContext.seccompProfile {type: Localhost} with such a profile (or type: Unconfined)',
  },
  'root-without-setfcap': {
    engine: 'run the job as a non-root user (--user 1000), or --cap-add SETFCAP',
    kubernetes: 'securityContext.runAsUser: 1000 (runAsNonRoot), or capabilities.add: [SETFCAP]',
  },
  'root-without-setuid': {
    engine: '--cap-add SETUID --cap-add SETGID (both in the engine\'s default set)',
    kubernetes: 'capabilities.add: [SETUID, SETGID]',
  },
  'subid-helper': {
    engine: 'run the job as root (root maps 65536 ids itself), or --cap-add SYS_ADMIN without --security-opt no-new-privileges (the setuid newuidmap needs CAP_SYS_ADMIN)',
    kubernetes: 'runAsUser: 0 (root maps 65536 ids itself), or capabilities.add: [SYS_ADMIN] with allowPrivilegeEscalation: true',
  },
  'no-fuse': { engine: '--device /dev/fuse', kubernetes: 'a device plugin that offers /dev/fuse' },
  'no-tun': { engine: '--device /dev/net/tun', kubernetes: 'a device plugin that offers /dev/net/tun' },
  'overlay-home': {
    engine: 'a volume for MAYFLY_HOME (-v mayfly:/var/lib/mayfly -e MAYFLY_HOME=/var/lib/mayfly)',
    kubernetes: 'an emptyDir volume mounted at MAYFLY_HOME',
  },
};

/** The setting that lifts `limit`, for the engine we run under (all of them when unknown). */
export function liftingSetting(limit: Limit, under: { engine: Engine | undefined } = confinement()): string {
  const s = SETTINGS[limit];
  const { engine } = under;
  if (engine === 'kubernetes') return `Kubernetes: ${s.kubernetes}`;
  if (engine === 'podman' || engine === 'docker') {
    // the engine-wide text names both engines where they differ; keep the part for ours
    const own = s.engine.split('; ').find((part) => part.startsWith(`${engine}: `));
    return own ?? s.engine;
  }
  return `${s.engine}; Kubernetes: ${s.kubernetes}`;
}
