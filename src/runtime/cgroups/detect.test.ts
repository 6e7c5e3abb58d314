import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeCgroupfs } from '../../../test/support/fake-cgroupfs.js';
import { detectCgroups } from './detect.js';
import { ownV2Path } from './v2-layout.js';


const me = process.getuid!();
/** a uid that owns nothing in the fake trees */
const stranger = me === 1700 ? 1701 : 1700;

const V1 = { 'memory/': '', 'cpu/': '', 'cpuacct/': '', 'pids/': '', 'freezer/': '' };
/** this machine: v1 controllers, and a cgroup2 at unified/ without any of them */
const HYBRID = { ...V1, 'unified/cgroup.controllers': '', 'unified/cgroup.subtree_control': '', 'unified/cgroup.procs': '1\n' };
const AT_ROOT = '0::/\n4:memory:/\n';

const SCOPE = 'user.slice/user-1700.slice/user@1700.service/app.slice/mayfly.scope';
function delegatedScope(prefix: string, controllers = 'cpu memory pids') {
  return {
    [`${prefix}cgroup.controllers`]: 'cpuset cpu io memory pids',
    [`${prefix}${SCOPE}/cgroup.controllers`]: controllers,
    [`${prefix}${SCOPE}/cgroup.subtree_control`]: '',
    [`${prefix}${SCOPE}/cgroup.procs`]: '4242\n',
    [`${prefix}${SCOPE}/cgroup.freeze`]: '0',
  };
}
const IN_SCOPE = `0::/${SCOPE}\n`;

describe('detectCgroups', () => {
  it('uses cgroup v1 as root', () => {
    const backend = detectCgroups({ root: fakeCgroupfs(HYBRID), selfCgroup: AT_ROOT, uid: 0 });
    expect(backend.kind).toBe('v1');
    expect(backend.controllers).toEqual(['memory', 'cpu', 'pids', 'freezer']);
  });

  it('uses no cgroups for a user without delegation, and says why and what to do', () => {
    const backend = detectCgroups({ root: fakeCgroupfs(HYBRID), selfCgroup: AT_ROOT, uid: stranger });
    expect(backend.kind).toBe('none');
    expect(backend.controllers).toEqual([]);
    expect(backend.reason).toContain(`cgroup v1 needs root (uid ${stranger}`);
    expect(backend.reason).toContain(`cgroup v2 has no delegated subtree for uid ${stranger}`);
    expect(backend.reason).toMatch(/limits are not enforced; run as root, or use a systemd user session with Delegate=yes$/);
  });

  it('uses a v1 mayfly/ directory that root handed to the user', () => {
    const root = fakeCgroupfs({ ...V1, 'memory/mayfly/': '', 'cpu/mayfly/': '', 'pids/mayfly/': '' });
    expect(detectCgroups({ root, selfCgroup: AT_ROOT, uid: me }).kind).toBe('v1');
  });

  it('names missing v1 controllers', () => {
    const backend = detectCgroups({ root: fakeCgroupfs({ 'memory/': '' }), selfCgroup: AT_ROOT, uid: 0 });
    expect(backend.kind).toBe('none');
    expect(backend.reason).toContain('cgroup v1 has no cpu, pids controller');
    expect(backend.reason).toContain('no cgroup v2 hierarchy');
  });

  it('uses a delegated cgroup v2 subtree', () => {
    const root = fakeCgroupfs(delegatedScope(''));
    const backend = detectCgroups({ root, selfCgroup: IN_SCOPE, uid: me });
    expect(backend.kind).toBe('v2');
    expect(backend.controllers).toEqual(['memory', 'pids', 'cpu', 'freezer']);
    expect(backend.reason).toContain(join(root, SCOPE));
  });

  it('uses no cgroups when the v2 subtree is not delegated to the user', () => {
    const backend = detectCgroups({ root: fakeCgroupfs(delegatedScope('')), selfCgroup: IN_SCOPE, uid: stranger });
    expect(backend.kind).toBe('none');
    expect(backend.reason).toContain(`cgroup v2 has no delegated subtree for uid ${stranger}`);
  });

  it('needs memory and pids from the v2 subtree', () => {
    const root = fakeCgroupfs(delegatedScope('', 'cpu pids'));
    const backend = detectCgroups({ root, selfCgroup: IN_SCOPE, uid: me });
    expect(backend.kind).toBe('none');
    expect(backend.reason).toContain('cgroup v2 offers cpu pids in');
  });

  it('finds the v2 hierarchy of a hybrid system at unified/', () => {
    const root = fakeCgroupfs({ ...V1, ...delegatedScope('unified/') });
    const backend = detectCgroups({ root, selfCgroup: IN_SCOPE, uid: me });
    expect(backend.kind).toBe('v2');
    expect(backend.reason).toContain(join(root, 'unified', SCOPE));
  });

  it('prefers delegated v2 over v1 when both work', () => {
    const root = fakeCgroupfs({ ...V1, ...delegatedScope('unified/') });
    expect(detectCgroups({ root, selfCgroup: IN_SCOPE, uid: 0 }).kind).toBe('v2');
  });

  it('uses v1 as root when cgroup2 offers nothing', () => {
    const root = fakeCgroupfs({ ...V1, ...delegatedScope('unified/', '') });
    expect(detectCgroups({ root, selfCgroup: IN_SCOPE, uid: 0 }).kind).toBe('v1');
  });

  it('builds on the delegated parent when already inside its sandbox leaf', () => {
    const root = fakeCgroupfs({ ...delegatedScope(''), [`${SCOPE}/sandbox/cgroup.procs`]: '1\n' });
    const backend = detectCgroups({ root, selfCgroup: `0::/${SCOPE}/sandbox\n`, uid: me });
    expect(backend.kind).toBe('v2');
    expect(backend.reason).toContain(`${join(root, SCOPE)} is delegated`);
  });

  it('explains a process without a cgroup v2 membership', () => {
    const backend = detectCgroups({ root: fakeCgroupfs(delegatedScope('')), selfCgroup: '4:memory:/\n', uid: me });
    expect(backend.reason).toContain('no "0::" line');
  });

  it('finds v1 cpu and cpuacct mounted together once', async () => {
    const root = fakeCgroupfs({ 'memory/': '', 'cpu,cpuacct/cpuacct.usage': '0', 'pids/': '' });
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
    const backend = detectCgroups({ root, selfCgroup: AT_ROOT, uid: 0 });
    expect(backend.controllers).toEqual(['memory', 'cpu', 'pids']);
    const cgroup = await backend.create('abc', {});
    expect(cgroup!.procsFiles).toEqual([
      join(root, 'memory/mayfly/abc/cgroup.procs'),
      join(root, 'cpu,cpuacct/mayfly/abc/cgroup.procs'),
      join(root, 'pids/mayfly/abc/cgroup.procs'),
    ]);
    expect(cgroup!.canFreeze).toBe(false);
  });

  it('creates nothing with the none backend', async () => {
    const backend = detectCgroups({ root: fakeCgroupfs({}), selfCgroup: '', uid: stranger });
    await expect(backend.create('abc', { memory: 1 << 20 })).resolves.toBeNull();
  });
});

describe('ownV2Path', () => {
  it('reads the 0:: line', () => {
    expect(ownV2Path('12:pids:/x\n0::/user.slice/a.scope\n')).toBe('/user.slice/a.scope');
    expect(ownV2Path('0::/\n')).toBe('/');
    expect(ownV2Path('1:name=systemd:/\n')).toBeUndefined();
  });
});
