/**
 * The container start, as a short linear sequence run by the shim inside fresh mount, pid, ipc and
 * uts namespaces (and a net namespace unless `host`): each step is a small function whose failure
 * names the step. Only synchronous fs calls are used: they run on this (main) thread, the one whose
 * root and namespaces change; libuv's pool threads would still see the old ones.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import * as sys from '../syscalls.js';
import type { MountPlan, StartPlan } from './plan.js';
import { secureJoin } from './secure-join.js';

export class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

export function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(name, e);
  }
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Runs every step up to (not including) the process set-up; afterwards `/` is the container's root. */
export function enterContainer(plan: StartPlan): void {
  const net = plan.network;
  if (net === 'none') {
    step('create network namespace', () => sys.unshare(sys.CLONE.NEWNET));
    step('bring loopback up', () => sys.loopbackUp());
  } else if (net !== 'host') {
    step('join network namespace', () => joinNetns(net.netns));
  }
  step('join cgroups', () => joinCgroups(plan.cgroupProcs));
  const root = plan.rootfs.target;
  step('mount root filesystem', () => mountRootfs(plan));
  step('mount /proc', () => mountAt(root, '/proc', 'proc', 'proc', sys.MS.NOSUID | sys.MS.NODEV | sys.MS.NOEXEC));
  step('mount /dev', () => mountDev(root, plan.fullIdMap));
  step('mount /sys', () => mountSys(root, plan.network));
  for (const m of plan.mounts) step(`mount ${m.target}`, () => mountUser(root, m));
  for (const f of plan.etcFiles) step(`mount ${f.target}`, () => bindFile(root, f.source, f.target, false));
  if (plan.init) step('mount init', () => bindFile(root, plan.init!, '/dev/init', true));
  step('pivot_root', () => pivotInto(root));
  step('set hostname', () => sys.sethostname(plan.hostname));
}

function joinNetns(file: string): void {
  const fd = openSync(file, 'r');
  try {
    sys.setns(fd, sys.CLONE.NEWNET);
  } finally {
    closeSync(fd);
  }
}

export function joinCgroups(procsFiles: string[]): void {
  // "0" means the writing process itself
  for (const f of procsFiles) writeFileSync(f, '0');
}

function mountRootfs(plan: StartPlan): void {
  const r = plan.rootfs;
  // pivot_root needs the new root to be a mount point: a prepared directory becomes one by a bind
  if (r.driver === 'prepared') return sys.mount(r.target, r.target, null, sys.MS.BIND | sys.MS.REC);
  // overlay wants the top layer first; `userxattr` lets it keep whiteouts as user.* xattrs inside a
  // user namespace, and `volatile` skips syncs nobody needs for a throwaway upper dir.
  const lower = [...r.lowerDirs].reverse().join(':');
  sys.mount('overlay', r.target, 'overlay', 0, `lowerdir=${lower},upperdir=${r.upperDir},workdir=${r.workDir},userxattr,volatile`);
}

function ensureDir(path: string, mode = 0o755): void {
  if (!existsSync(path)) mkdirSync(path, { recursive: true, mode });
}

function ensureFile(path: string): void {
  if (existsSync(path)) return;
  ensureDir(posix.dirname(path));
  closeSync(openSync(path, 'a', 0o644));
}

function mountAt(root: string, path: string, source: string, fstype: string, flags: number, data: string | null = null): string {
  const target = secureJoin(root, path);
  ensureDir(target);
  sys.mount(source, target, fstype, flags, data);
  return target;
}

function mountDev(root: string, fullIdMap: boolean): void {
  const dev = mountAt(root, '/dev', 'tmpfs', 'tmpfs', sys.MS.NOSUID | sys.MS.STRICTATIME, 'mode=755,size=65536k');
  // Device nodes cannot be created in a user namespace: bind the host's harmless ones.
  for (const name of DEVICES) {
    const target = posix.join(dev, name);
    closeSync(openSync(target, 'a', 0o666));
    sys.mount(`/dev/${name}`, target, null, sys.MS.BIND);
  }
  mkdirSync(posix.join(dev, 'pts'), { mode: 0o755 });
  sys.mount('devpts', posix.join(dev, 'pts'), 'devpts', sys.MS.NOSUID | sys.MS.NOEXEC, `newinstance,ptmxmode=0666,mode=0620${fullIdMap ? ',gid=5' : ''}`);
  symlinkSync('pts/ptmx', posix.join(dev, 'ptmx'));
  mkdirSync(posix.join(dev, 'shm'), { mode: 0o1777 });
  sys.mount('shm', posix.join(dev, 'shm'), 'tmpfs', sys.MS.NOSUID | sys.MS.NODEV | sys.MS.NOEXEC, 'mode=1777,size=65536k');
  mkdirSync(posix.join(dev, 'mqueue'), { mode: 0o755 });
  sys.mount('mqueue', posix.join(dev, 'mqueue'), 'mqueue', sys.MS.NOSUID | sys.MS.NODEV | sys.MS.NOEXEC);
  for (const [link, to] of [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
  ] as const) {
    symlinkSync(to, posix.join(dev, link));
  }
}

function mountSys(root: string, network: StartPlan['network']): void {
  const flags = sys.MS.NOSUID | sys.MS.NODEV | sys.MS.NOEXEC;
  if (network === 'host') {
    // sysfs can only be mounted by the owner of the net namespace: show the host's instead.
    mountAt(root, '/sys', '/sys', 'none', sys.MS.BIND | sys.MS.REC);
    return;
  }
  mountAt(root, '/sys', 'sysfs', 'sysfs', flags | sys.MS.RDONLY);
}

function mountUser(root: string, m: MountPlan): void {
  if (m.kind === 'tmpfs') {
    const opts = [m.size ? `size=${m.size}` : '', m.mode !== undefined ? `mode=${m.mode.toString(8)}` : ''].filter(Boolean).join(',');
    mountAt(root, m.target, 'tmpfs', 'tmpfs', sys.MS.NOSUID | sys.MS.NODEV, opts || null);
    return;
  }
  if (statSync(m.source).isDirectory()) {
    const target = secureJoin(root, m.target);
    ensureDir(target);
    bind(m.source, target, m.readonly);
  } else {
    bindFile(root, m.source, m.target, m.readonly);
  }
}

function bindFile(root: string, source: string, path: string, readonly: boolean): void {
  const target = secureJoin(root, path);
  ensureFile(target);
  bind(source, target, readonly);
}

function bind(source: string, target: string, readonly: boolean): void {
  sys.mount(source, target, null, sys.MS.BIND | sys.MS.REC);
  if (!readonly) return;
  // A read-only remount must repeat the flags the kernel locked on the source (nosuid, nodev...).
  sys.mount(null, target, null, sys.MS.BIND | sys.MS.REMOUNT | sys.MS.RDONLY | lockedFlags(target));
}

function lockedFlags(path: string): number {
  const mi = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  // the last entry for a mount point is the one on top
  const line = mi.filter((l) => l.split(' ')[4] === path).pop();
  if (!line) return 0;
  const opts = line.split(' ')[5]!.split(',');
  let flags = 0;
  if (opts.includes('nosuid')) flags |= sys.MS.NOSUID;
  if (opts.includes('nodev')) flags |= sys.MS.NODEV;
  if (opts.includes('noexec')) flags |= sys.MS.NOEXEC;
  if (opts.includes('noatime')) flags |= sys.MS.NOATIME;
  return flags;
}

/** pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the container's. */
function pivotInto(root: string): void {
  sys.chdir(root);
  sys.pivotRoot('.', '.');
  sys.umount('.', true);
  sys.chdir('/');
}
