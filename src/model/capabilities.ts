/**
 * Linux capabilities by name, and the set a container gets: Docker's default 14 unless
 * `capAdd`/`capDrop` (or `privileged`) say otherwise — with Docker's rules for ALL.
 */
import { MayflyError } from '../core/errors.js';

/** linux/capability.h, in number order */
const NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof NAMES)[number];

export const CAPABILITY_NUMBERS: Readonly<Record<CapabilityName, number>> = Object.fromEntries(NAMES.map((n, i) => [n, i])) as Record<CapabilityName, number>;

/** Docker's default set: enough for services that start as root and drop privileges, without SYS_ADMIN, NET_ADMIN, SYS_PTRACE and the like. */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
];

/** `sys_admin`, `CAP_SYS_ADMIN` → `SYS_ADMIN`; `all` → `ALL`; undefined when it names no capability. */
export function normalizeCapability(name: string): CapabilityName | 'ALL' | undefined {
  const upper = name.trim().toUpperCase().replace(/^CAP_/, '');
  if (upper === 'ALL') return 'ALL';
  return (NAMES as readonly string[]).includes(upper) ? (upper as CapabilityName) : undefined;
}

function parseList(names: readonly string[], field: string): (CapabilityName | 'ALL')[] {
  return names.map((n) => {
    const c = normalizeCapability(n);
    if (!c) {
      throw new MayflyError('INVALID_OPTION', `${field}: unknown capability "${n}"`, {
        hint: `use a name such as NET_ADMIN or CAP_SYS_PTRACE, or ALL (known: ${NAMES.join(', ')})`,
      });
    }
    return c;
  });
}

export interface CapabilityRequest {
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  privileged?: boolean;
}

/**
 * The capability names a container keeps, by Docker's rules: privileged → all; ALL in capAdd → all
 * but capDrop; ALL in capDrop → only capAdd; else the defaults minus capDrop plus capAdd.
 */
export function resolveCapabilities(req: CapabilityRequest): CapabilityName[] {
  if (req.privileged) return [...NAMES];
  const add = parseList(req.capAdd ?? [], 'capAdd');
  const drop = parseList(req.capDrop ?? [], 'capDrop');
  const named = (l: (CapabilityName | 'ALL')[]) => l.filter((c): c is CapabilityName => c !== 'ALL');
  let keep: CapabilityName[];
  if (add.includes('ALL')) keep = NAMES.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) keep = named(add);
  else keep = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...named(add)];
  return NAMES.filter((c) => keep.includes(c));
}
