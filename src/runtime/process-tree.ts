/**
 * The processes of a container, found from its PID 1 through /proc/PID/task/TID/children (as the
 * sandbox's /proc numbers them). Used where no cgroup is available: pause by SIGSTOP, and stats.
 */
import { readdirSync } from 'node:fs';
import { readTextIfPresent } from '../core/files.js';

const read = readTextIfPresent;

function childrenOf(pid: number, proc = '/proc'): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`${proc}/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    const text = read(`${proc}/${pid}/task/${tid}/children`);
    if (text) out.push(...text.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

/** The single child of a process (unshare --fork has exactly one). */
export function childPid(pid: number): number | undefined {
  return childrenOf(pid)[0];
}

/**
 * PID 1 of the container and all its descendants, parents before children. `proc`: the /proc that
 * numbers them (the sandbox's own, seen from outside as /proc/SANDBOX_PID/root/proc).
 */
export function containerProcesses(pid1: number, proc = '/proc'): number[] {
  const seen: number[] = [];
  const queue = [pid1];
  while (queue.length) {
    const pid = queue.shift()!;
    if (seen.includes(pid) || read(`${proc}/${pid}/stat`) === undefined) continue;
    seen.push(pid);
    queue.push(...childrenOf(pid, proc));
  }
  return seen;
}

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on every Linux ABI Node supports
const PAGE = 4096;

export interface ProcessUsage {
  cpuNs: number;
  memoryBytes: number;
  pids: number;
}

export function processUsage(pids: number[]): ProcessUsage {
  let cpuNs = 0;
  let memoryBytes = 0;
  let tasks = 0;
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    const statm = read(`/proc/${pid}/statm`);
    if (!stat || !statm) continue;
    // fields after the command name, which may itself contain spaces and parentheses
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuNs += (Number(f[11]) + Number(f[12])) * TICK_NS;
    memoryBytes += Number(statm.split(' ')[1]) * PAGE;
    try {
      tasks += readdirSync(`/proc/${pid}/task`).length;
    } catch {
      tasks += 1;
    }
  }
  return { cpuNs, memoryBytes, pids: tasks };
}

/** Sends a signal to every process of the container; stops parents first so none can fork past us. */
export function signalAll(pid1: number, signal: NodeJS.Signals): number {
  let count = 0;
  for (let round = 0; round < 5; round++) {
    const pids = containerProcesses(pid1);
    let fresh = 0;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
        fresh++;
      } catch {
        // exited meanwhile
      }
    }
    if (fresh === count) break;
    count = fresh;
  }
  return count;
}

function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : undefined;
}

/**
 * The host's pid of a sandbox's process (`nsPid` as the sandbox numbers it), found from outside:
 * the process under `sandboxHostPid` whose NSpid line has `nsPid` one level down. Docker's
 * `State.Pid` is the host's.
 */
export function hostPidOf(nsPid: number, sandboxHostPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ns = /^NSpid:\s+(.+)$/m.exec(read(`/proc/${entry}/status`) ?? '')?.[1]?.split(/\s+/).map(Number);
    if (!ns || ns[1] !== nsPid) continue;
    for (let p: number | undefined = Number(entry), i = 0; p && p > 1 && i < 8; p = parentOf(p), i++) if (p === sandboxHostPid) return Number(entry);
  }
  return undefined;
}
