/**
 * cgroup v1 (as root, or under `mayfly/` dirs root has chowned to us): one `mayfly/<id>` cgroup per
 * container in each hierarchy. The container's first process joins all of them before it runs.
 */
import { join } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import {
  assertCgroupName,
  makeCgroupDir,
  pollUntil,
  readControl,
  readKeyed,
  readNumber,
  removeCgroupDir,
  sweepCgroupDirs,
  writeControl,
  writeOptionalControl,
} from './cgroup-files.js';
import { CPU_PERIOD_US, cpuQuotaUs } from './cpu-quota.js';
import type { CgroupBackend, CgroupLimits, CgroupStats, ContainerCgroup } from './types.js';
import { V1_PARENT, type V1Layout } from './v1-layout.js';

/** v1 reports "no limit" as a huge page-aligned number (9223372036854771712 on 64-bit) */
const UNLIMITED_FROM = 2 ** 60;
const FREEZE_TIMEOUT_MS = 2000;

export function createV1Backend(layout: V1Layout): CgroupBackend {
  return {
    kind: 'v1',
    reason: `cgroup v1 controllers under ${[layout.memory, layout.cpu, layout.pids, layout.freezer].filter(Boolean).join(', ')}`,
    controllers: layout.freezer ? ['memory', 'cpu', 'pids', 'freezer'] : ['memory', 'cpu', 'pids'],
    create: (containerId, limits) => createV1Cgroup(layout, containerId, limits),
    sweep: (isKnown, orphans) => {
      const roots = [layout.memory, layout.cpu, layout.pids, layout.freezer, layout.cpuacct].filter((r): r is string => Boolean(r));
      return sweepCgroupDirs([...new Set(roots)].map((r) => join(r, V1_PARENT)), '', isKnown, orphans);
    },
  };
}

/** The container's directory in each hierarchy (the layout's shape); co-mounted hierarchies share one. */
type V1Dirs = V1Layout;

async function createV1Cgroup(layout: V1Layout, id: string, limits: CgroupLimits): Promise<ContainerCgroup> {
  assertCgroupName(id);
  const inHierarchy = (hierarchyRoot: string) => join(hierarchyRoot, V1_PARENT, id);
  const dirs: V1Dirs = {
    memory: inHierarchy(layout.memory),
    cpu: inHierarchy(layout.cpu),
    pids: inHierarchy(layout.pids),
    ...(layout.freezer && { freezer: inHierarchy(layout.freezer) }),
    ...(layout.cpuacct && { cpuacct: inHierarchy(layout.cpuacct) }),
  };
  const unique = [...new Set(Object.values(dirs))];
  try {
    for (const dir of unique) await makeCgroupDir(dir);
    await writeLimits(dirs, limits);
  } catch (e) {
    await Promise.allSettled(unique.map((dir) => removeCgroupDir(dir, 0)));
    throw e;
  }
  return new V1ContainerCgroup(dirs, unique);
}

async function writeLimits(dirs: V1Dirs, limits: CgroupLimits): Promise<void> {
  if (limits.memory !== undefined) {
    const bytes = Math.floor(limits.memory);
    await writeControl(join(dirs.memory, 'memory.limit_in_bytes'), bytes);
    // memory+swap gets the same limit, or the container could swap its way past the memory one;
    // kernels booted without swap accounting lack the file or refuse the value
    await writeOptionalControl(join(dirs.memory, 'memory.memsw.limit_in_bytes'), bytes, ['EINVAL', 'ENOENT']);
  }
  if (limits.cpus !== undefined) {
    await writeControl(join(dirs.cpu, 'cpu.cfs_period_us'), CPU_PERIOD_US);
    await writeControl(join(dirs.cpu, 'cpu.cfs_quota_us'), cpuQuotaUs(limits.cpus));
  }
  if (limits.pids !== undefined) await writeControl(join(dirs.pids, 'pids.max'), Math.floor(limits.pids));
}

class V1ContainerCgroup implements ContainerCgroup {
  readonly procsFiles: string[];
  readonly canFreeze: boolean;

  constructor(
    private readonly dirs: V1Dirs,
    private readonly unique: string[],
  ) {
    this.procsFiles = unique.map((dir) => join(dir, 'cgroup.procs'));
    this.canFreeze = dirs.freezer !== undefined;
  }

  async freeze(): Promise<void> {
    const state = this.freezerState();
    // writing FROZEN again also catches processes forked while the first write was freezing
    const frozen = await pollUntil(async () => {
      await writeControl(state, 'FROZEN');
      return readControl(state) === 'FROZEN';
    }, FREEZE_TIMEOUT_MS);
    if (frozen) return;
    const seen = readControl(state);
    await writeControl(state, 'THAWED').catch(() => {});
    throw new MayflyError('CGROUP_FAILED', `the container did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s (${state}: ${seen})`, {
      hint: 'a process may be stuck in uninterruptible sleep (D state, often I/O): retry the pause later',
      details: { state: seen },
    });
  }

  async thaw(): Promise<void> {
    await writeControl(this.freezerState(), 'THAWED');
  }

  stats(): CgroupStats {
    const limit = readNumber(join(this.dirs.memory, 'memory.limit_in_bytes'));
    return {
      cpuNs: this.dirs.cpuacct ? readNumber(join(this.dirs.cpuacct, 'cpuacct.usage')) : undefined,
      memoryBytes: readNumber(join(this.dirs.memory, 'memory.usage_in_bytes')),
      memoryLimit: limit !== undefined && limit < UNLIMITED_FROM ? limit : undefined,
      pids: readNumber(join(this.dirs.pids, 'pids.current')),
    };
  }

  oomKilled(): boolean {
    // `oom_kill` (kernel 4.13+) counts kills; memory.failcnt would also count mere reclaim at the limit
    return (readKeyed(join(this.dirs.memory, 'memory.oom_control')).get('oom_kill') ?? 0) > 0;
  }

  async remove(): Promise<void> {
    for (const dir of this.unique) await removeCgroupDir(dir);
  }

  private freezerState(): string {
    if (!this.dirs.freezer) {
      throw new MayflyError('CGROUP_FAILED', 'cgroup v1 has no freezer controller here', { hint: 'pause with SIGSTOP instead' });
    }
    return join(this.dirs.freezer, 'freezer.state');
  }
}
