/**
 * What an escape would change on the host, read before and after an attempt: kernel settings a
 * container's root could write where it is the host's root, the host's names, its system mounts,
 * its account files, and this user's keyring.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

const SYSCTLS = [
  'kernel/core_pattern',
  'kernel/modprobe',
  'kernel/hostname',
  'kernel/domainname',
  'kernel/panic',
  'kernel/sysrq',
  'kernel/unprivileged_userns_clone',
  'net/ipv4/ip_forward',
  'vm/overcommit_memory',
];

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return `unreadable: ${(e as NodeJS.ErrnoException).code}`;
  }
}

const digest = (path: string) => {
  const text = read(path);
  return text.startsWith('unreadable') ? text : createHash('sha256').update(text).digest('hex');
};

/** Mount points of the system (not of test directories, which other runs on this machine make and remove). */
function systemMounts(): string[] {
  return read('/proc/self/mountinfo')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => /^\/(proc|sys|dev|etc|boot|usr|$)/.test(p) && !p.startsWith('/proc/sys/fs/binfmt_misc'))
    .sort();
}

export interface HostState {
  sysctls: Record<string, string>;
  hostname: string;
  mounts: string[];
  files: Record<string, string>;
  keys: string;
}

export function hostState(): HostState {
  return {
    sysctls: Object.fromEntries(SYSCTLS.map((s) => [s, read(`/proc/sys/${s}`)])),
    hostname: hostname(),
    mounts: systemMounts(),
    files: Object.fromEntries(['/etc/shadow', '/etc/passwd', '/etc/hosts'].map((f) => [f, digest(f)])),
    // without session keyrings, which come and go with the machine's sessions, and without usage counts
    keys: read('/proc/keys')
      .split('\n')
      .filter((l) => !/ keyring\s+_ses[.:]/.test(l))
      .map((l) => l.split(/\s+/).filter((_, i) => i !== 2).join(' '))
      .join('\n'),
  };
}
