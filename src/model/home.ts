/**
 * Where containers live on disk, and how a sandbox knows which ones are orphans. Each sandbox holds
 * an exclusive flock on its own lock file for as long as it lives: the kernel drops it when the
 * process dies, however it dies, and unlike a pid it cannot be reused by another process.
 */
import { openSync, readdirSync, readFileSync, closeSync, rmSync, writeFileSync, existsSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { whyNotWritable } from '../core/files.js';
import { tryLock } from '../sys/locks.js';
import { readState, writeJsonAtomic, type ContainerState } from './container-state.js';
import type { Layout } from './layout.js';

export { ensureLayout, layoutOf, type Layout } from './layout.js';
export { readState, stateJson, writeJsonAtomic, type ContainerState } from './container-state.js';

/** Takes this sandbox's lock; the returned fd must stay open for the sandbox's whole life. */
export function holdSandboxLock(l: Layout, sandboxId: string): number {
  const fd = openSync(join(l.sandboxes, `${sandboxId}.lock`), 'w');
  if (!tryLock(fd)) throw new Error(`sandbox lock ${sandboxId} is already held`);
  return fd;
}

export function releaseSandboxLock(l: Layout, sandboxId: string, fd: number): void {
  rmSync(join(l.sandboxes, `${sandboxId}.lock`), { force: true });
  closeSync(fd);
}

export function sandboxAlive(l: Layout, sandboxId: string): boolean {
  const path = join(l.sandboxes, `${sandboxId}.lock`);
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    return !tryLock(fd);
  } finally {
    closeSync(fd); // closing drops the lock if we just took it
  }
}

/** Name reservations are files created exclusively, so two processes cannot take one name. */
export function reserveName(l: Layout, name: string, id: string): boolean {
  const path = join(l.names, name);
  try {
    writeFileSync(path, id, { flag: 'wx' });
    return true;
  } catch {
    const holder = readFileSync(path, 'utf8');
    if (holder === id) return true; // a persistent container taken over keeps its name
    const state = readState(join(l.containers, holder));
    if (state && holdsOn(l, state)) return false;
    rmSync(path, { force: true }); // the holder is gone: its sweep has not run yet
    return reserveName(l, name, id);
  }
}

export function releaseName(l: Layout, name: string, id: string): void {
  const path = join(l.names, name);
  try {
    if (readFileSync(path, 'utf8') === id) unlinkSync(path);
  } catch {
    // already released
  }
}

const HALF_CREATED_GRACE_MS = 60_000;

/** A container directory being made: `.creating-<sandbox id>-<container id>`, renamed once its state is in. */
export const CREATING_PREFIX = '.creating-';

/**
 * Whether a container still holds on to its name, image, layers and volumes: while its sandbox
 * lives, and — a persistent one, stopped or not — until it is removed.
 */
export function holdsOn(l: Layout, s: ContainerState): boolean {
  return (s.persistent === true && !s.autoRemove) || sandboxAlive(l, s.sandboxId);
}

/**
 * Removes containers whose sandbox died without cleaning up (SIGKILL, power loss). Containers of
 * live sandboxes are never touched; a persistent one is kept, as stopped (its processes and mounts
 * went with its sandbox), for `start` or `rm`. Returns the ids removed.
 */
export function sweepOrphans(l: Layout, ownSandboxId: string): string[] {
  const removed: string[] = [];
  for (const id of safeList(l.containers)) {
    const dir = join(l.containers, id);
    if (id.startsWith(CREATING_PREFIX)) {
      const sid = id.slice(CREATING_PREFIX.length).split('-')[0]!;
      if (sid !== ownSandboxId && !sandboxAlive(l, sid)) rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const state = readState(dir);
    if (state?.sandboxId === ownSandboxId) continue;
    if (state ? sandboxAlive(l, state.sandboxId) : Date.now() - mtime(dir) < HALF_CREATED_GRACE_MS) continue;
    if (state?.persistent && !state.autoRemove) {
      if (state.status === 'running' || state.status === 'paused') markDead(dir, state);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    if (state) releaseName(l, state.name, id);
    removed.push(id);
  }
  // lock files, and the run directories (network namespaces' files, hosts files) of sandboxes
  const entries = safeList(l.sandboxes);
  // a sandbox's run directory is made once its lock is held: with it, a free lock means it died
  const ranOnce = new Set(entries.filter((f) => !f.endsWith('.lock') && entries.includes(`${f}.lock`)));
  for (const f of entries) {
    const sid = f.replace(/\.lock$/, '');
    const path = join(l.sandboxes, f);
    if (sid === ownSandboxId) continue;
    // a lock file is created a moment before it is locked: leave young ones alone, unless it ran
    if (!ranOnce.has(sid) && Date.now() - mtime(path) < HALF_CREATED_GRACE_MS) continue;
    if (!sandboxAlive(l, sid)) rmSync(path, { recursive: true, force: true });
  }
  return removed;
}

/** A persistent container whose sandbox died with it running: stopped, as if killed. */
export function markDead(dir: string, s: ContainerState): void {
  const { pid: _p, ports: _ports, attachments: _a, ...rest } = s;
  writeJsonAtomic(join(dir, 'state.json'), { ...rest, status: 'exited', exitCode: s.exitCode ?? 137, finishedAt: s.finishedAt ?? new Date().toISOString() } satisfies ContainerState);
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The error for a MAYFLY_HOME that cannot be made or written (the sandbox's and the keeper's, alike). */
export function unusableHome(home: string, cause: unknown): MayflyError {
  return new MayflyError('SANDBOX_FAILED', `MAYFLY_HOME (${home}) cannot be used: ${whyNotWritable(home) ?? (cause as Error)?.message ?? String(cause)}`, {
    hint: 'point MAYFLY_HOME at a writable directory (in a job container with a read-only root: the work dir, or a volume)',
  });
}
