/**
 * cgroup v2 in a subtree delegated to us (systemd's Delegate=yes, or root itself): each container
 * gets `<base>/c-<id>`, a sibling of the leaf our own processes moved into.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import {
  assertCgroupName,
  makeCgroupDir,
  pollUntil,
  readKeyed,
  readNumber,
  removeCgroupDir,
  sweepCgroupDirs,
  writeControl,
  writeOptionalControl,
} from './cgroup-files.js';
import { CPU_PERIOD_US, cpuQuotaUs } from './cpu-quota.js';
import type { CgroupBackend, CgroupLimits, CgroupStats, ContainerCgroup } from './types.js';
import type { V2Controller, V2Layout } from './v2-layout.js';
import { prepareV2Subtree } from './v2-subtree.js';

const FREEZE_TIMEOUT_MS = 2000;

export function createV2Backend(layout: V2Layout): CgroupBackend {
  // the subtree is prepared once, on first use; a failed attempt may be retried
  let prepared: Promise<void> | undefined;
  const prepare = () =>
    (prepared ??= prepareV2Subtree(layout).catch((e: unknown) => {
      prepared = undefined;
      throw e;
    }));
  return {
    kind: 'v2',
    reason: `cgroup v2 subtree ${layout.base} is delegated to us (${layout.controllers.join(', ')})`,
    controllers: layout.canFreeze ? [...layout.controllers, 'freezer'] : [...layout.controllers],
    async create(containerId, limits) {
      assertCgroupName(containerId);
      await prepare();
      const dir = join(layout.base, `c-${containerId}`);
      await makeCgroupDir(dir);
      try {
        await writeLimits(dir, limits, layout.controllers);
      } catch (e) {
        await removeCgroupDir(dir, 0).catch(() => {});
        throw e;
      }
      return new V2ContainerCgroup(dir);
    },
    sweep: (isKnown, orphans) => sweepCgroupDirs([layout.base], 'c-', isKnown, orphans),
  };
}

/** Limits whose controller the subtree lacks are skipped: `controllers` tells callers what is enforced. */
async function writeLimits(dir: string, limits: CgroupLimits, controllers: V2Controller[]): Promise<void> {
  if (limits.memory !== undefined && controllers.includes('memory')) {
    await writeControl(join(dir, 'memory.max'), Math.floor(limits.memory));
    // v2 limits swap separately: none at all, or the container could swap its way past memory.max
    await writeOptionalControl(join(dir, 'memory.swap.max'), 0);
  }
  if (limits.cpus !== undefined && controllers.includes('cpu')) {
    await writeControl(join(dir, 'cpu.max'), `${cpuQuotaUs(limits.cpus)} ${CPU_PERIOD_US}`);
  }
  if (limits.pids !== undefined && controllers.includes('pids')) {
    await writeControl(join(dir, 'pids.max'), Math.floor(limits.pids));
  }
}

class V2ContainerCgroup implements ContainerCgroup {
  readonly procsFiles: string[];
  readonly canFreeze: boolean;

  constructor(private readonly dir: string) {
    this.procsFiles = [join(dir, 'cgroup.procs')];
    this.canFreeze = existsSync(join(dir, 'cgroup.freeze'));
  }

  async freeze(): Promise<void> {
    await writeControl(this.freezeFile(), '1');
    // freezing is asynchronous: cgroup.events says when every process has stopped
    const events = join(this.dir, 'cgroup.events');
    if (await pollUntil(() => readKeyed(events).get('frozen') === 1, FREEZE_TIMEOUT_MS)) return;
    await writeControl(this.freezeFile(), '0').catch(() => {});
    throw new MayflyError('CGROUP_FAILED', `the container did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s (${events})`, {
      hint: 'a process may be stuck in uninterruptible sleep (D state, often I/O): retry the pause later',
    });
  }

  async thaw(): Promise<void> {
    await writeControl(this.freezeFile(), '0');
  }

  stats(): CgroupStats {
    const usageUs = readKeyed(join(this.dir, 'cpu.stat')).get('usage_usec');
    // memory.max reads "max" when unlimited, which readNumber turns into undefined
    return {
      cpuNs: usageUs === undefined ? undefined : usageUs * 1000,
      memoryBytes: readNumber(join(this.dir, 'memory.current')),
      memoryLimit: readNumber(join(this.dir, 'memory.max')),
      pids: readNumber(join(this.dir, 'pids.current')),
    };
  }

  oomKilled(): boolean {
    return (readKeyed(join(this.dir, 'memory.events')).get('oom_kill') ?? 0) > 0;
  }

  async remove(): Promise<void> {
    await removeCgroupDir(this.dir);
  }

  private freezeFile(): string {
    if (!this.canFreeze) {
      throw new MayflyError('CGROUP_FAILED', `${this.dir} has no cgroup.freeze (kernel older than 5.2)`, { hint: 'pause with SIGSTOP instead' });
    }
    return join(this.dir, 'cgroup.freeze');
  }
}
