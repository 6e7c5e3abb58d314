/**
 * Where containers live on disk, and how a sandbox knows which ones are orphans. Each sandbox holds
 * an exclusive flock on its own lock file for as long as it lives: the kernel drops it when the
 * process dies, however it dies, and unlike a pid it cannot be reused by another process.
 */
import { openSync, readdirSync, readFileSync, closeSync, mkdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../files.js';
import { tryLock } from './syscalls.js';

export interface Layout {
  home: string;
  containers: string;
  sandboxes: string;
  volumes: string;
  names: string;
  networks: string;
}

export function layoutOf(home: string): Layout {
  return {
    home,
    containers: join(home, 'containers'),
    sandboxes: join(home, 'sandboxes'),
    volumes: join(home, 'volumes'),
    names: join(home, 'names'),
    networks: join(home, 'networks'),
  };
}

export function ensureLayout(l: Layout): void {
  for (const d of [l.containers, l.sandboxes, l.volumes, l.names, l.networks]) mkdirSync(d, { recursive: true, mode: 0o700 });
}

export interface ContainerState {
  id: string;
  name: string;
  sandboxId: string;
  createdAt: string;
  status: 'created' | 'running' | 'paused' | 'exited';
  exitCode?: number;
  image?: string;
  /** the image's ID (config digest), when made from an image: `mayfly rmi` refuses to remove it meanwhile */
  imageId?: string;
  /** the layer directories it runs on, bottom first: `mayfly image prune` keeps them */
  layers?: string[];
  command: string[];
  /** the user-defined networks it is attached to: `mayfly network rm` refuses meanwhile */
  networks?: string[];
  /** the named volumes it mounts: `mayfly volume rm` refuses meanwhile */
  volumes?: string[];
}

export function writeJsonAtomic(path: string, value: unknown): void {
  atomicWrite(path, JSON.stringify(value, null, 2));
}

export function readState(dir: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

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
    const state = readState(join(l.containers, holder));
    if (state && sandboxAlive(l, state.sandboxId)) return false;
    rmSync(path, { force: true }); // the holder is gone: its sweep has not run yet
    return reserveName(l, name, id);
  }
}

export function releaseName(l: Layout, name: string, id: string): void {
  const path = join(l.names, name);
  try {
    if (readFileSync(path, 'utf8') === id) rmSync(path);
  } catch {
    // already released
  }
}

const HALF_CREATED_GRACE_MS = 60_000;

/**
 * Removes containers whose sandbox died without cleaning up (SIGKILL, power loss). Containers of
 * live sandboxes are never touched. Returns the ids removed.
 */
export function sweepOrphans(l: Layout, ownSandboxId: string): string[] {
  const removed: string[] = [];
  for (const id of safeList(l.containers)) {
    const dir = join(l.containers, id);
    const state = readState(dir);
    if (state?.sandboxId === ownSandboxId) continue;
    if (state ? sandboxAlive(l, state.sandboxId) : Date.now() - mtime(dir) < HALF_CREATED_GRACE_MS) continue;
    rmSync(dir, { recursive: true, force: true });
    if (state) releaseName(l, state.name, id);
    removed.push(id);
  }
  // lock files, and the run directories (network namespaces' files, hosts files) of sandboxes
  for (const f of safeList(l.sandboxes)) {
    const sid = f.replace(/\.lock$/, '');
    const path = join(l.sandboxes, f);
    // a lock file is created a moment before it is locked: leave young ones alone
    if (sid === ownSandboxId || Date.now() - mtime(path) < HALF_CREATED_GRACE_MS) continue;
    if (!sandboxAlive(l, sid)) rmSync(path, { recursive: true, force: true });
  }
  return removed;
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
