/**
 * Reading and writing cgroupfs control files. Every value is short text: one number, a word list
 * (cgroup.controllers) or `key value` lines (cpu.stat, memory.events). Reads are synchronous because
 * ContainerCgroup.stats() and oomKilled() are; writes and removal are async.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MayflyError } from '../../core/errors.js';

/** The trimmed content of a control file, or undefined when it is missing or unreadable. */
export function readControl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A control file holding one number; undefined when missing or not a number (e.g. "max"). */
export function readNumber(path: string): number | undefined {
  const text = readControl(path);
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

export function readWords(path: string): string[] {
  return (readControl(path) ?? '').split(/\s+/).filter(Boolean);
}

/** `key value` lines, as in cpu.stat, memory.events, memory.oom_control and cgroup.events. */
export function parseKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

export function readKeyed(path: string): Map<string, number> {
  return parseKeyed(readControl(path) ?? '');
}

/**
 * Whether `uid` may create cgroups in (or write) `path`. Root is judged by access(2) alone: in a
 * user namespace uid 0 cannot write host-owned cgroup files. Anyone else must own the file, which
 * is what delegation (systemd's Delegate=yes, or a chown by root) gives.
 */
export function isWritableBy(path: string, uid: number): boolean {
  try {
    if (uid !== 0 && statSync(path).uid !== uid) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function writeControl(path: string, value: string | number): Promise<void> {
  try {
    await writeFile(path, String(value));
  } catch (cause) {
    throw cgroupError(`cannot write "${value}" to ${path}`, cause, { path, value });
  }
}

/** Writes a control file that only some kernels or set-ups have; `tolerated` errors are ignored. */
export async function writeOptionalControl(path: string, value: string | number, tolerated: string[] = []): Promise<void> {
  if (!existsSync(path)) return;
  try {
    await writeFile(path, String(value));
  } catch (cause) {
    if (tolerated.includes(errorCode(cause))) return;
    throw cgroupError(`cannot write "${value}" to ${path}`, cause, { path, value });
  }
}

export async function makeCgroupDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    throw cgroupError(`cannot create cgroup ${dir}`, cause, { dir });
  }
}

/** rmdir with patience: for a moment after the last process exits the kernel still answers EBUSY. */
export async function removeCgroupDir(dir: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (cause) {
      const code = errorCode(cause);
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && Date.now() < deadline) {
        await sleep(20);
        continue;
      }
      throw cgroupError(`cannot remove cgroup ${dir}`, cause, { dir });
    }
  }
}

const SWEEP_GRACE_MS = 60_000;

/**
 * The shared part of every backend's sweep: `<parent>/<prefix><id>` dirs nobody claims (ids of 64
 * hex digits, as Docker's; 32 in homes made before). `orphans`
 * are ids known to be dead (their containers were just swept): they need no grace period.
 */
export async function sweepCgroupDirs(parents: string[], prefix: string, isKnown: (id: string) => boolean, orphans: ReadonlySet<string> = new Set()): Promise<string[]> {
  const removed: string[] = [];
  for (const parent of parents) {
    let names: string[] = [];
    try {
      names = await readdir(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      const id = name.slice(prefix.length);
      if (!name.startsWith(prefix) || !/^([0-9a-f]{32}){1,2}$/.test(id) || isKnown(id)) continue;
      const dir = join(parent, name);
      try {
        if (!orphans.has(id) && Date.now() - (await stat(dir)).mtimeMs < SWEEP_GRACE_MS) continue;
        await rmdir(dir); // refused (EBUSY) while processes are inside
        removed.push(id);
      } catch {
        // busy or gone: not ours to force
      }
    }
  }
  return removed;
}

/** Calls `check` every `intervalMs` until it returns true (→ true) or `timeoutMs` passes (→ false). */
export async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Container ids become directory names: refuse anything that could leave the parent directory. */
export function assertCgroupName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new MayflyError('CGROUP_FAILED', `"${name}" cannot name a cgroup`, {
      hint: 'container ids must be letters, digits, "_", "." and "-"',
    });
  }
}

export function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? '';
}

const HINTS: Record<string, string> = {
  EACCES: 'mayfly may not write this cgroup: run as root, or from a cgroup v2 subtree delegated to your user',
  EPERM: 'mayfly may not write this cgroup: run as root, or from a cgroup v2 subtree delegated to your user',
  EINVAL: 'the kernel refused the value: check the container limits (memory in bytes, cpus > 0, pids >= 1)',
  EBUSY: 'processes are still in the cgroup: stop them (see its cgroup.procs) and try again',
  ENOTEMPTY: 'the cgroup still has child cgroups: remove them first',
};

/** `hint` replaces the usual advice for the errno when the caller knows better. */
export function cgroupError(message: string, cause: unknown, details: Record<string, unknown>, hint?: string): MayflyError {
  const code = errorCode(cause);
  const reason = (cause as Error)?.message ?? String(cause);
  return new MayflyError('CGROUP_FAILED', `${message}: ${reason}`, {
    cause,
    hint: hint ?? HINTS[code] ?? 'see `mayfly doctor` for the cgroup set-up, or set MAYFLY_CGROUPS=none to run without limits',
    details: { ...details, errno: code },
  });
}
