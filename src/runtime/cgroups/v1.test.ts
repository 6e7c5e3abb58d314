import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeCgroupfs } from '../../../test/support/fake-cgroupfs.js';
import { isMayflyError } from '../../core/errors.js';
import type { ContainerCgroup } from './types.js';
import { createV1Backend } from './v1.js';
import { findV1Layout, type V1Layout } from './v1-layout.js';


function layoutOf(root: string): V1Layout {
  const probe = findV1Layout(root, 0);
  if (!('layout' in probe)) throw new Error(probe.why);
  return probe.layout;
}

function v1Tree(extra: Record<string, string> = {}): { root: string; layout: V1Layout } {
  const root = fakeCgroupfs({ 'memory/': '', 'cpu/': '', 'cpuacct/': '', 'pids/': '', 'freezer/': '', ...extra });
  return { root, layout: layoutOf(root) };
}

const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');

/** cgroupfs control files vanish with their directory; plain files on a fake tree must go first */
function emptyDirs(cgroup: ContainerCgroup): void {
  for (const procs of cgroup.procsFiles) {
    const dir = dirname(procs);
    for (const f of readdirSync(dir)) unlinkSync(join(dir, f));
  }
}

describe('cgroup v1', () => {
  it('creates mayfly/<id> in each hierarchy and writes the limits', async () => {
    const { root, layout } = v1Tree({ 'memory/mayfly/c1/memory.memsw.limit_in_bytes': '' });
    const cgroup = await createV1Backend(layout).create('c1', { memory: 64 * 2 ** 20, cpus: 1.5, pids: 100 });
    expect(read(root, 'memory/mayfly/c1/memory.limit_in_bytes')).toBe('67108864');
    expect(read(root, 'memory/mayfly/c1/memory.memsw.limit_in_bytes')).toBe('67108864');
    expect(read(root, 'cpu/mayfly/c1/cpu.cfs_period_us')).toBe('100000');
    expect(read(root, 'cpu/mayfly/c1/cpu.cfs_quota_us')).toBe('150000');
    expect(read(root, 'pids/mayfly/c1/pids.max')).toBe('100');
    expect(cgroup!.procsFiles).toEqual(
      ['memory', 'cpu', 'pids', 'freezer', 'cpuacct'].map((c) => join(root, c, 'mayfly/c1/cgroup.procs')),
    );
    expect(cgroup!.canFreeze).toBe(true);
  });

  it('writes no memsw limit where swap accounting is off, and only the limits asked for', async () => {
    const { root, layout } = v1Tree();
    await createV1Backend(layout).create('c1', { memory: 1 << 20 });
    expect(existsSync(join(root, 'memory/mayfly/c1/memory.memsw.limit_in_bytes'))).toBe(false);
    expect(existsSync(join(root, 'cpu/mayfly/c1/cpu.cfs_quota_us'))).toBe(false);
    expect(existsSync(join(root, 'pids/mayfly/c1/pids.max'))).toBe(false);
  });

  it('raises tiny CPU quotas to the kernel minimum of 1 ms', async () => {
    const { root, layout } = v1Tree();
    await createV1Backend(layout).create('c1', { cpus: 0.001 });
    expect(read(root, 'cpu/mayfly/c1/cpu.cfs_quota_us')).toBe('1000');
  });

  it('freezes and thaws through freezer.state', async () => {
    const { root, layout } = v1Tree();
    const cgroup = (await createV1Backend(layout).create('c1', {}))!;
    await cgroup.freeze();
    expect(read(root, 'freezer/mayfly/c1/freezer.state')).toBe('FROZEN');
    await cgroup.thaw();
    expect(read(root, 'freezer/mayfly/c1/freezer.state')).toBe('THAWED');
  });

  it('cannot freeze without a freezer hierarchy', async () => {
    const root = fakeCgroupfs({ 'memory/': '', 'cpu/': '', 'pids/': '' });
    const cgroup = (await createV1Backend(layoutOf(root)).create('c1', {}))!;
    expect(cgroup.canFreeze).toBe(false);
    await expect(cgroup.freeze()).rejects.toMatchObject({ code: 'CGROUP_FAILED' });
  });

  it('reads stats, reporting only real memory limits', async () => {
    const { root, layout } = v1Tree();
    const cgroup = (await createV1Backend(layout).create('c1', {}))!;
    writeFileSync(join(root, 'cpuacct/mayfly/c1/cpuacct.usage'), '123456789\n');
    writeFileSync(join(root, 'memory/mayfly/c1/memory.usage_in_bytes'), '1048576\n');
    writeFileSync(join(root, 'memory/mayfly/c1/memory.limit_in_bytes'), '67108864\n');
    writeFileSync(join(root, 'pids/mayfly/c1/pids.current'), '3\n');
    expect(cgroup.stats()).toEqual({ cpuNs: 123456789, memoryBytes: 1048576, memoryLimit: 67108864, pids: 3 });
    writeFileSync(join(root, 'memory/mayfly/c1/memory.limit_in_bytes'), '9223372036854771712\n');
    expect(cgroup.stats().memoryLimit).toBeUndefined();
  });

  it('tells an OOM kill from memory.oom_control', async () => {
    const { root, layout } = v1Tree();
    const cgroup = (await createV1Backend(layout).create('c1', {}))!;
    const oomControl = join(root, 'memory/mayfly/c1/memory.oom_control');
    expect(cgroup.oomKilled()).toBe(false);
    writeFileSync(oomControl, 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
    expect(cgroup.oomKilled()).toBe(false);
    writeFileSync(oomControl, 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    expect(cgroup.oomKilled()).toBe(true);
  });

  it('removes its directories and keeps the shared mayfly/ parent', async () => {
    const { root, layout } = v1Tree();
    const cgroup = (await createV1Backend(layout).create('c1', { pids: 5 }))!;
    emptyDirs(cgroup);
    await cgroup.remove();
    for (const c of ['memory', 'cpu', 'pids', 'freezer', 'cpuacct']) {
      expect(existsSync(join(root, c, 'mayfly/c1'))).toBe(false);
      expect(existsSync(join(root, c, 'mayfly'))).toBe(true);
    }
    await expect(cgroup.remove()).resolves.toBeUndefined();
  });

  it('reports a refused write as CGROUP_FAILED with a hint, and cleans up', async () => {
    // a directory where the limit file should be makes the write fail
    const { root, layout } = v1Tree({ 'pids/mayfly/c1/pids.max/': '' });
    const error = await createV1Backend(layout)
      .create('c1', { memory: 1 << 20, pids: 5 })
      .catch((e: unknown) => e);
    expect(isMayflyError(error, 'CGROUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain(join(root, 'pids/mayfly/c1/pids.max'));
    expect((error as { hint?: string }).hint).toBeTruthy();
    expect(existsSync(join(root, 'cpu/mayfly/c1'))).toBe(false);
  });

  it('refuses container ids that are not plain names', async () => {
    const { layout } = v1Tree();
    await expect(createV1Backend(layout).create('../escape', {})).rejects.toMatchObject({ code: 'CGROUP_FAILED' });
  });
});
