import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StartPlan } from './plan.js';
import { CAPABILITY_NUMBERS, DEFAULT_CAPABILITIES } from '../../model/capabilities.js';
import { defaultFilter } from '../seccomp/index.js';
import { joinSteps, OP, startSteps } from './steps.js';

const DEFAULT_CAPS = DEFAULT_CAPABILITIES.map((c) => CAPABILITY_NUMBERS[c]);

const plan = (extra: Partial<StartPlan> = {}): StartPlan => ({
  kind: 'start',
  rootfs: { driver: 'overlay', lowerDirs: ['/l/base', '/l/top'], upperDir: '/c/upper', workDir: '/c/work', target: '/c/rootfs' },
  hostname: 'box',
  network: 'none',
  mounts: [],
  etcFiles: [{ source: '/c/etc/hosts', target: '/etc/hosts' }],
  init: null,
  fullIdMap: true,
  devpts: null,
  argv: ['sh', '-c', 'true'],
  env: ['A=1'],
  workingDir: '/work',
  user: 'app',
  setgroups: true,
  limits: { proc: 'new', sys: 'new', sethostname: true },
  cgroupProcs: [],
  capabilities: DEFAULT_CAPS,
  seccomp: null,
  readonlyPaths: [],
  maskedPaths: [],
  ...extra,
});

describe('the start steps', () => {
  it('number their operations as the C executor does (native/start/plan.h)', () => {
    const header = readFileSync(join(import.meta.dirname, '../../../native/start/plan.h'), 'utf8');
    const inC = Object.fromEntries([...header.matchAll(/^#define OP_([A-Z_]+) (\d+)$/gm)].filter(([, n]) => n !== 'MAX').map(([, n, v]) => [n!.toLowerCase().replaceAll('_', '-'), Number(v)]));
    expect(inC).toEqual({ ...OP });
  });

  it('run in a fixed order, from the network namespace to execve', () => {
    const names = [...new Set(startSteps(plan()).map((s) => s.step))];
    expect(names).toEqual([
      'create network namespace', 'bring loopback up', 'mount root filesystem', 'mount /proc', 'mount /dev', 'mount /sys', 'mount /etc/hosts',
      'pivot_root', 'set hostname', 'resolve user', 'create working directory', 'limit capabilities', 'set user', 'enter working directory',
      'find executable', 'no_new_privs', 'parent-death signal', 'umask', 'execve',
    ]);
  });

  it('with a terminal (-t): bind the devpts the sandbox mounted, and make the pty the controlling terminal as root, after the user is known', () => {
    const steps = startSteps(plan({ devpts: '/s/c1/pts', tty: { path: '/dev/pts/0' } }));
    expect(steps.find((s) => s.op === 'mount' && s.target === '/dev/pts')).toMatchObject({ source: '/s/c1/pts', fstype: null, root: '/c/rootfs' });
    const names = steps.map((s) => s.step);
    expect(names.indexOf('controlling terminal')).toBeGreaterThan(names.indexOf('resolve user'));
    expect(names.indexOf('controlling terminal')).toBeLessThan(names.indexOf('limit capabilities'));
    expect(startSteps(plan()).find((s) => s.op === 'mount' && s.target === '/dev/pts')).toMatchObject({ source: 'devpts', fstype: 'devpts', data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' });
    expect(startSteps(plan()).some((s) => s.op === 'controlling-terminal')).toBe(false);
  });

  it('mount the overlay top layer first, and everything else inside the root', () => {
    const steps = startSteps(plan());
    expect(steps.find((s) => s.step === 'mount root filesystem')).toMatchObject({ op: 'mount', data: 'lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work,userxattr,volatile', root: null });
    for (const s of steps.filter((s) => s.op === 'mount' && s.step !== 'mount root filesystem')) expect(s).toMatchObject({ root: '/c/rootfs' });
  });

  it('join a network namespace, or show the host /sys for the host network', () => {
    const joined = startSteps(plan({ network: { netns: '/proc/9/fd/20' } }));
    expect(joined[0]).toMatchObject({ step: 'join network namespace', op: 'setns', path: '/proc/9/fd/20' });
    const host = startSteps(plan({ network: 'host' }));
    expect(host.some((s) => s.op === 'unshare' || s.op === 'setns')).toBe(false);
    expect(host.find((s) => s.step === 'mount /sys')).toMatchObject({ source: '/sys', fstype: null });
  });

  it("where a confined host refuses a fresh /proc and /sys and sethostname (a CI job's container): binds of the sandbox's, no hostname step", () => {
    const steps = startSteps(plan({ limits: { proc: 'bind', sys: 'bind', sethostname: false } }));
    expect(steps.find((s) => s.step === 'mount /proc')).toMatchObject({ op: 'mount', source: '/proc', fstype: null, flags: 0x1000 | 0x4000, root: '/c/rootfs' });
    expect(steps.find((s) => s.step === 'mount /sys')).toMatchObject({ op: 'mount', source: '/sys', fstype: null, readonly: true });
    expect(steps.some((s) => s.op === 'sethostname')).toBe(false);
    expect(steps.find((s) => s.op === 'exec')).toMatchObject({ env: expect.arrayContaining(['HOSTNAME=box']) });
  });

  it('leave the supplementary groups alone where one id is mapped (the namespace denies setgroups)', () => {
    expect(startSteps(plan()).find((s) => s.op === 'set-user')).toMatchObject({ setgroups: true });
    expect(startSteps(plan({ setgroups: false })).find((s) => s.op === 'set-user')).toMatchObject({ setgroups: false });
  });

  it('bind files as files and directories as directories, read-only when asked', () => {
    const steps = startSteps(plan({ mounts: [
      { kind: 'bind', source: '/h/conf', target: '/etc/app.conf', readonly: true, sourceIsDir: false },
      { kind: 'bind', source: '/h/data', target: '/data', readonly: false, sourceIsDir: true },
      { kind: 'tmpfs', source: 'tmpfs', target: '/scratch', readonly: false, size: 8 << 20, mode: 0o750 },
    ] }));
    expect(steps.find((s) => s.step === 'mount /etc/app.conf')).toMatchObject({ create: 'file', readonly: true });
    expect(steps.find((s) => s.step === 'mount /data')).toMatchObject({ create: 'dir', readonly: false });
    expect(steps.find((s) => s.step === 'mount /scratch')).toMatchObject({ fstype: 'tmpfs', data: 'size=8388608,mode=750' });
  });

  it('fill in PATH and HOSTNAME, run tini first with init, and keep Docker\'s capabilities', () => {
    const steps = startSteps(plan({ init: '/usr/bin/tini' }));
    expect(steps.find((s) => s.op === 'exec')).toMatchObject({ argv: ['/dev/init', '--', 'sh', '-c', 'true'], env: ['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=box'] });
    expect(steps.find((s) => s.op === 'find-executable')).toMatchObject({ command: '/dev/init' });
    expect(steps.find((s) => s.op === 'limit-caps')).toMatchObject({ keep: DEFAULT_CAPS });
    expect(steps.find((s) => s.step === 'mount init')).toMatchObject({ target: '/dev/init', readonly: true });
  });

  it('make Docker\'s read-only and masked paths after every mount, and install the seccomp filter last, right before execve', () => {
    const filter = defaultFilter('x86_64', DEFAULT_CAPABILITIES);
    const steps = startSteps(plan({ readonlyPaths: ['/proc/sys'], maskedPaths: ['/proc/kcore', '/sys/firmware'], seccomp: filter, capabilities: [0, 21] }));
    const names = steps.map((s) => s.step);
    expect(names.indexOf('read-only /proc/sys')).toBeGreaterThan(names.indexOf('mount /etc/hosts'));
    expect(names.indexOf('mask /sys/firmware')).toBe(names.indexOf('pivot_root') - 1);
    expect(steps.find((s) => s.op === 'mask-path')).toMatchObject({ root: '/c/rootfs', path: '/proc/kcore' });
    expect(names.slice(-2)).toEqual(['seccomp', 'execve']);
    expect(steps.at(-2)).toMatchObject({ op: 'seccomp', filter });
    expect(steps.find((s) => s.op === 'limit-caps')).toMatchObject({ keep: [0, 21] });
    expect(startSteps(plan()).some((s) => s.op === 'seccomp')).toBe(false); // unconfined, privileged
  });

  it('for exec: join cgroups and namespaces (mount last), then the same process set-up', () => {
    const steps = joinSteps({ kind: 'join', targetPid: 42, joinNetwork: true, hostname: 'box', argv: ['ls'], env: ['PATH=/bin'], workingDir: '/', user: '0', setgroups: true, cgroupProcs: ['/cg/procs'], capabilities: DEFAULT_CAPS, seccomp: null });
    expect(steps.slice(0, 6).map((s) => [s.op, 'path' in s ? s.path : ''])).toEqual([
      ['write-file', '/cg/procs'], ['setns', '/proc/42/ns/ipc'], ['setns', '/proc/42/ns/uts'], ['setns', '/proc/42/ns/net'], ['unshare', ''], ['setns', '/proc/42/ns/mnt'],
    ]);
    expect(steps.find((s) => s.op === 'find-executable')).toMatchObject({ command: 'ls', path: '/bin' });
  });
});
