import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUSYBOX, isRoot, useRuntime } from '../support/runtime.js';

const { runtime, warnings } = useRuntime();

describe('resource limits', () => {
  it.runIf(isRoot)('as root (cgroup v1 here): a memory limit holds — the container is OOM-killed', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'dd if=/dev/zero of=/dev/null bs=200M count=1'], limits: { memory: '32m' } });
    await c.start();
    const exit = await c.wait();
    expect(exit.exitCode).toBe(137);
    expect(exit.oomKilled).toBe(true);
    await c.remove();
    expect(existsSync(`/sys/fs/cgroup/memory/mayfly/${c.id}`)).toBe(false); // the cgroup went with it
  });

  it.runIf(isRoot)('as root: the pids limit holds, also for exec', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sleep', '1000'], limits: { pids: 4 } });
    await c.start();
    const r = await c.exec(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; sleep 0.2; echo tried']);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    const stats = await c.stats();
    expect(stats.source).toBe('cgroup');
    expect(stats.pids).toBeLessThanOrEqual(4);
    await c.remove({ force: true });
  });

  it.runIf(!isRoot)('without cgroup delegation: one clear warning, and the container still runs', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['true'], limits: { memory: '32m' } });
    const c2 = await runtime().create({ layers: [BUSYBOX], command: ['true'], limits: { pids: 10 } });
    const limitWarnings = warnings.filter((w) => w.includes('not enforced'));
    expect(limitWarnings).toHaveLength(1);
    await c.start();
    expect((await c.wait()).exitCode).toBe(0);
    await c.remove();
    await c2.remove();
  });
});
