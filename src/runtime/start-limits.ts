/**
 * What a confined host refuses in a container's start, found once per sandbox before it starts —
 * a CI job's container with the engine's defaults: masked paths in /proc and /sys, a seccomp filter.
 *
 *  - A fresh procfs (and sysfs) is refused inside a user namespace while the one we can see has
 *    parts hidden by mounts over them: a fresh instance would reveal them. Then the sandbox stays in
 *    its owner's pid namespace, so that the pids it handles are the ones its /proc shows, and each
 *    container keeps a pid namespace of its own but gets a recursive bind of that /proc: it lists
 *    the job's processes, with the job's numbers. /sys likewise becomes a read-only bind.
 *  - podman's and Docker's default seccomp profiles allow sethostname only with CAP_SYS_ADMIN: the
 *    step is left out, and the container's uname shows the sandbox's name.
 *
 * Where nothing masks /proc and no seccomp filter is in force (a plain host) the answer is known
 * without a probe; else one `unshare` running three tries (~5–10 ms) gives it.
 */
import { spawn } from 'node:child_process';
import { confinement, liftingSetting, type Limit } from '../core/confinement.js';
import type { StartLimits } from './shim/plan.js';

/** A start step done another way than on a plain host, why, and the setting that would lift it. */
export interface StartDegradation {
  step: string;
  /** what the container gets instead */
  instead: string;
  why: string;
  fix: string;
}

export interface StartLimitsFound {
  limits: StartLimits;
  degraded: StartDegradation[];
}

const UNLIMITED: StartLimits = { proc: 'new', sys: 'new', sethostname: true };

let found: Promise<StartLimitsFound> | undefined;

/** Decided once per process (the owner's confinement does not change). */
export function findStartLimits(): Promise<StartLimitsFound> {
  found ??= (async () => {
    const c = confinement();
    if (!c.procMasks.length && !c.seccomp) return { limits: UNLIMITED, degraded: [] };
    const tries = await probe();
    if (!tries) return { limits: UNLIMITED, degraded: [] };
    const limits: StartLimits = { proc: tries.proc ? 'new' : 'bind', sys: tries.sys ? 'new' : 'bind', sethostname: tries.hostname };
    const degraded: StartDegradation[] = [];
    const add = (step: string, instead: string, why: string, limit: Limit) => degraded.push({ step, instead, why, fix: liftingSetting(limit) });
    const masks = c.procMasks.length ? ` while ${c.procMasks.length} paths of this /proc are masked (${c.procMasks.slice(0, 3).join(', ')}${c.procMasks.length > 3 ? ', …' : ''})` : '';
    if (limits.proc === 'bind') {
      add('mount /proc', "a bind of the sandbox's /proc: each container has its own pid namespace (PID 1, signals, all killed on stop), but /proc lists the job's processes with the job's pids (ps shows them; /proc/1 and /proc/$$ are not the container's)", `a fresh /proc is refused in a user namespace${masks}: ${tries.procError}`, 'masked-proc');
    }
    if (limits.sys === 'bind') add('mount /sys', "a read-only bind of the sandbox's /sys (its network devices are the sandbox's)", `a fresh sysfs is refused in a user namespace: ${tries.sysError}`, 'masked-proc');
    if (!limits.sethostname) {
      add('set hostname', "the container's uname shows the sandbox's hostname; its /etc/hostname and $HOSTNAME are its own", `sethostname is refused${c.seccomp ? ' (a seccomp filter is in force)' : ''}: ${tries.hostnameError}`, 'seccomp-sethostname');
    }
    return { limits, degraded };
  })();
  return found;
}

interface Tries {
  proc: boolean;
  sys: boolean;
  hostname: boolean;
  procError: string;
  sysError: string;
  hostnameError: string;
}

/**
 * The three tries in fresh user, mount, pid, net and uts namespaces (as a shim's are), as root of
 * that user namespace: an unmapped user loses its capabilities in the exec of the shell, and every
 * try would fail for that alone. Undefined when the probe itself cannot run (root without
 * CAP_SETFCAP may not map itself): the sandbox's own start then says why.
 */
function probe(): Promise<Tries | undefined> {
  const script = [
    'try() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name=ok"; else echo "$name=$out" | tr "\\n" " "; echo; fi; }',
    'try proc mount -n -t proc proc /proc',
    'try sys mount -n -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys',
    // a missing hostname(1) says nothing about the kernel: taken as allowed
    'if command -v hostname >/dev/null; then try hostname hostname mayfly-probe; else echo hostname=ok; fi',
  ].join('\n');
  return new Promise((resolve) => {
    const p = spawn('unshare', ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--net', '--uts', '--', '/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', () => resolve(undefined));
    p.once('close', (code) => {
      const got = new Map(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const));
      if (code !== 0 || !got.has('proc') || !got.has('sys') || !got.has('hostname')) return resolve(undefined);
      const ok = (k: string) => got.get(k) === 'ok';
      resolve({ proc: ok('proc'), sys: ok('sys'), hostname: ok('hostname'), procError: got.get('proc')!, sysError: got.get('sys')!, hostnameError: got.get('hostname')! });
    });
  });
}
