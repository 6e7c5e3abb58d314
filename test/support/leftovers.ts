/**
 * What mayfly left behind for one MAYFLY_HOME: processes, mounts, directories, cgroups, listening
 * ports, and the store's leftovers and problems. After a fault, once the next runtime has started
 * (its sweeps run then), every list must be empty.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LocalImages } from '../../src/engine/images.js';
import { storeLeftovers } from '../../src/image/store/check-store.js';
import { ImageStore } from '../../src/image/store/image-store.js';

export interface Proc {
  pid: number;
  /** the start time (field 22 of /proc/PID/stat): a pid reused by another process is not the same one */
  start: string;
  cmd: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function stat(pid: number): { ppid: number; start: string } | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), start: fields[19]! };
}

function pids(): number[] {
  return readdirSync('/proc').filter((f) => /^\d+$/.test(f)).map(Number);
}

/** Processes working for `home` (MAYFLY_HOME in their environment), and all their descendants (containers have another environment). */
export function homeProcesses(home: string): Proc[] {
  const all = pids();
  const parent = new Map<number, number>();
  for (const p of all) {
    const s = stat(p);
    if (s) parent.set(p, s.ppid);
  }
  const marked = new Set(all.filter((p) => (read(`/proc/${p}/environ`) ?? '').split('\0').includes(`MAYFLY_HOME=${home}`)));
  const ofHome = (p: number): boolean => {
    for (let q: number | undefined = p, hops = 0; q && hops < 64; q = parent.get(q), hops++) if (marked.has(q)) return true;
    return false;
  };
  return all.filter((p) => p !== process.pid && ofHome(p)).flatMap((pid) => {
    const s = stat(pid);
    return s ? [{ pid, start: s.start, cmd: (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim() }] : [];
  });
}

export function alive(p: Proc): boolean {
  return stat(p.pid)?.start === p.start;
}

/** The container ids of `home` right now (to look for their cgroups afterwards). */
export function containerIds(home: string): string[] {
  try {
    return readdirSync(join(home, 'containers'));
  } catch {
    return [];
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const CGROUP_V1 = ['memory', 'pids', 'cpu', 'cpu,cpuacct', 'freezer'];

export interface LeftoverInput {
  home: string;
  /** processes seen before the fault */
  before?: Proc[];
  /** container ids seen before the fault */
  containers?: string[];
  /** host ports that were published */
  ports?: number[];
  /** check the store too (hashes every blob: keep stores small) */
  store?: boolean;
}

/** Everything left over, one line each; empty when nothing is. */
export async function leftovers(o: LeftoverInput): Promise<string[]> {
  const found: string[] = [];
  for (const p of homeProcesses(o.home)) found.push(`process ${p.pid}: ${p.cmd}`);
  for (const p of o.before ?? []) if (alive(p) && !found.some((f) => f.startsWith(`process ${p.pid}:`))) found.push(`process ${p.pid} (seen before): ${p.cmd}`);
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) if (line.includes(o.home)) found.push(`mount: ${line.split(' ')[4]}`);
  for (const id of containerIds(o.home)) found.push(`container directory ${id}`);
  for (const f of existsSync(join(o.home, 'sandboxes')) ? readdirSync(join(o.home, 'sandboxes')) : []) found.push(`sandbox entry ${f}`);
  for (const id of o.containers ?? []) {
    for (const c of CGROUP_V1) {
      const dir = `/sys/fs/cgroup/${c}/mayfly/${id}`;
      if (existsSync(dir)) found.push(`cgroup ${dir}`);
    }
  }
  for (const port of o.ports ?? []) if (!(await refused(port))) found.push(`port ${port} still listening`);
  const store = new ImageStore(o.home);
  if (existsSync(store.blobsDir)) {
    for (const p of storeLeftovers(store)) found.push(`store leftover ${p}`);
    if (o.store) for (const p of (await new LocalImages(store).check()).problems) found.push(`store problem: ${p.message}`);
  }
  return found;
}

/** Waits until `home` has no processes left, nor any of `before` (a sandbox removing its containers takes a moment; an exited one, its reaping). */
export async function settled(home: string, before: Proc[] = [], timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && (homeProcesses(home).length || before.some(alive))) await new Promise((r) => setTimeout(r, 50));
}

/** The pid of a Node process of `home` running `what` (sandbox/main.js, keeper/main.js) — not a wrapper whose command line names it. */
export function findProcess(home: string, what: string): number | undefined {
  return homeProcesses(home).find((p) => p.cmd.startsWith(process.execPath) && p.cmd.includes(what))?.pid;
}

