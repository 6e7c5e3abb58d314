import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeCgroupfs } from '../../../test/support/fake-cgroupfs.js';
import { isMayflyError } from '../../core/errors.js';
import { detectCgroups } from './detect.js';
import { prepareDelegatedCgroup } from './prepare-delegated-cgroup.js';
import { createV2Backend } from './v2.js';
import { findV2Layout, type V2Layout } from './v2-layout.js';


const SCOPE = 'user.slice/user-1700.slice/user@1700.service/app.slice/mayfly.scope';

/** A delegated scope holding this process (and `others`); the kernel's files for container c1 pre-made. */
function v2Tree(opts: { controllers?: string; others?: number[]; extra?: Record<string, string> } = {}) {
  const pids = [process.pid, ...(opts.others ?? [])];
  const root = fakeCgroupfs({
    'cgroup.controllers': 'cpuset cpu io memory pids',
    [`${SCOPE}/cgroup.controllers`]: opts.controllers ?? 'cpu memory pids',
    [`${SCOPE}/cgroup.subtree_control`]: '',
    [`${SCOPE}/cgroup.procs`]: pids.map((p) => `${p}\n`).join(''),
    [`${SCOPE}/cgroup.freeze`]: '0',
    [`${SCOPE}/cgroup.type`]: 'domain',
    ...opts.extra,
  });
  const probe = findV2Layout(root, `0::/${SCOPE}\n`, process.getuid!());
  if (!('layout' in probe)) throw new Error(probe.why);
  return { base: join(root, SCOPE), layout: probe.layout };
}

const read = (path: string) => readFileSync(path, 'utf8');

describe('cgroup v2', () => {
  it('moves our processes into a leaf, enables the controllers and writes the limits', async () => {
    const { base, layout } = v2Tree({ extra: { [`${SCOPE}/c-c1/memory.swap.max`]: 'max' } });
    const cgroup = await createV2Backend(layout).create('c1', { memory: 64 * 2 ** 20, cpus: 0.5, pids: 100 });
    expect(read(join(base, 'sandbox/cgroup.procs'))).toBe('0');
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('+memory +pids +cpu');
    expect(read(join(base, 'c-c1/memory.max'))).toBe('67108864');
    expect(read(join(base, 'c-c1/memory.swap.max'))).toBe('0');
    expect(read(join(base, 'c-c1/cpu.max'))).toBe('50000 100000');
    expect(read(join(base, 'c-c1/pids.max'))).toBe('100');
    expect(cgroup!.procsFiles).toEqual([join(base, 'c-c1/cgroup.procs')]);
  });

  it('moves the other processes of our cgroup too', async () => {
    const { base, layout } = v2Tree({ others: [4242] });
    await createV2Backend(layout).create('c1', {});
    // a plain file keeps only the last write; cgroupfs would have taken each pid
    expect(read(join(base, 'sandbox/cgroup.procs'))).toBe('4242');
  });

  it('refuses to guess when processes outside our pid namespace share the cgroup', async () => {
    const { base, layout } = v2Tree({ others: [0] });
    const error = await createV2Backend(layout)
      .create('c1', {})
      .catch((e: unknown) => e);
    expect(isMayflyError(error, 'CGROUP_FAILED')).toBe(true);
    expect((error as { hint: string }).hint).toContain(join(base, 'sandbox/cgroup.procs'));
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('');
  });

  it('prepares the subtree once and enables only what is missing', async () => {
    const { base, layout } = v2Tree({ extra: { [`${SCOPE}/cgroup.subtree_control`]: 'memory pids' } });
    const backend = createV2Backend(layout);
    await backend.create('c1', {});
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('+cpu');
    writeFileSync(join(base, 'cgroup.subtree_control'), 'memory pids cpu');
    writeFileSync(join(base, 'sandbox/cgroup.procs'), '');
    await backend.create('c2', {});
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('memory pids cpu');
    expect(read(join(base, 'sandbox/cgroup.procs'))).toBe('');
  });

  it('leaves processes where they are in the hierarchy root', async () => {
    const root = fakeCgroupfs({ 'cgroup.controllers': 'cpu memory pids', 'cgroup.subtree_control': '', 'cgroup.procs': '1\n2\n' });
    const probe = findV2Layout(root, '0::/\n', 0);
    const layout = (probe as { layout: V2Layout }).layout;
    expect(layout.isHierarchyRoot).toBe(true);
    await createV2Backend(layout).create('c1', {});
    expect(existsSync(join(root, 'sandbox'))).toBe(false);
    expect(read(join(root, 'cgroup.subtree_control'))).toBe('+memory +pids +cpu');
  });

  it('skips limits whose controller the subtree lacks', async () => {
    const { base, layout } = v2Tree({ controllers: 'memory pids' });
    const backend = createV2Backend(layout);
    expect(backend.controllers).toEqual(['memory', 'pids', 'freezer']);
    await backend.create('c1', { cpus: 1, pids: 10 });
    expect(existsSync(join(base, 'c-c1/cpu.max'))).toBe(false);
    expect(read(join(base, 'c-c1/pids.max'))).toBe('10');
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('+memory +pids');
  });

  it('freezes through cgroup.freeze and waits for cgroup.events', async () => {
    // on a fake tree nothing flips `frozen`, so it is pre-written
    const { base, layout } = v2Tree({
      extra: { [`${SCOPE}/c-c1/cgroup.freeze`]: '0', [`${SCOPE}/c-c1/cgroup.events`]: 'populated 1\nfrozen 1\n' },
    });
    const cgroup = (await createV2Backend(layout).create('c1', {}))!;
    expect(cgroup.canFreeze).toBe(true);
    await cgroup.freeze();
    expect(read(join(base, 'c-c1/cgroup.freeze'))).toBe('1');
    await cgroup.thaw();
    expect(read(join(base, 'c-c1/cgroup.freeze'))).toBe('0');
  });

  it('cannot freeze without cgroup.freeze', async () => {
    const { layout } = v2Tree();
    const cgroup = (await createV2Backend(layout).create('c1', {}))!;
    expect(cgroup.canFreeze).toBe(false);
    await expect(cgroup.freeze()).rejects.toMatchObject({ code: 'CGROUP_FAILED' });
  });

  it('reads stats and the OOM kill count', async () => {
    const { base, layout } = v2Tree();
    const cgroup = (await createV2Backend(layout).create('c1', {}))!;
    const dir = join(base, 'c-c1');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n');
    writeFileSync(join(dir, 'memory.current'), '1048576\n');
    writeFileSync(join(dir, 'memory.max'), 'max\n');
    writeFileSync(join(dir, 'pids.current'), '2\n');
    expect(cgroup.stats()).toEqual({ cpuNs: 2_500_000, memoryBytes: 1048576, memoryLimit: undefined, pids: 2 });
    writeFileSync(join(dir, 'memory.max'), '67108864\n');
    expect(cgroup.stats().memoryLimit).toBe(67108864);

    expect(cgroup.oomKilled()).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n');
    expect(cgroup.oomKilled()).toBe(true);
  });

  it('removes its directory', async () => {
    const { base, layout } = v2Tree();
    const cgroup = (await createV2Backend(layout).create('c1', { pids: 3 }))!;
    // cgroupfs control files vanish with their directory; plain files on a fake tree must go first
    for (const f of readdirSync(join(base, 'c-c1'))) unlinkSync(join(base, 'c-c1', f));
    await cgroup.remove();
    expect(existsSync(join(base, 'c-c1'))).toBe(false);
    expect(existsSync(join(base, 'sandbox'))).toBe(true);
  });

  it('lets the host empty the delegated cgroup for a sandbox in its own pid namespace', async () => {
    const { base } = v2Tree({ others: [4242] });
    const root = base.slice(0, -SCOPE.length - 1);
    await prepareDelegatedCgroup({ root, selfCgroup: `0::/${SCOPE}\n`, uid: process.getuid!() });
    expect(read(join(base, 'sandbox/cgroup.procs'))).toBe('4242');
    writeFileSync(join(base, 'cgroup.procs'), ''); // what the kernel would show now

    // the sandbox, started from the leaf, builds on the leaf's parent
    const backend = detectCgroups({ root, selfCgroup: `0::/${SCOPE}/sandbox\n`, uid: process.getuid!() });
    const cgroup = await backend.create('c1', { pids: 7 });
    expect(cgroup!.procsFiles).toEqual([join(base, 'c-c1/cgroup.procs')]);
    expect(read(join(base, 'cgroup.subtree_control'))).toBe('+memory +pids +cpu');
  });
});
