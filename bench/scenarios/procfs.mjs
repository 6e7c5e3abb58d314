// What the bench reads from /proc: process trees, memory (RSS, PSS), and what a system left behind.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const PAGE = 4096;

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every live process: pid → { ppid, comm, cmdline }. */
export function processTable() {
  const table = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = read(`/proc/${d}/stat`);
    if (!stat) continue;
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    table.set(Number(d), { ppid, comm, cmdline: (read(`/proc/${d}/cmdline`) ?? '').replaceAll('\0', ' ').trim() });
  }
  return table;
}

/** The roots and all their descendants. */
export function descendants(roots, table = processTable()) {
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const out = [];
  const queue = roots.filter((r) => table.has(r));
  while (queue.length) {
    const pid = queue.shift();
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Resident set size in bytes (counts shared pages in full in every process). */
export function rss(pid) {
  const statm = read(`/proc/${pid}/statm`);
  return statm ? Number(statm.split(' ')[1]) * PAGE : 0;
}

/** Proportional set size in bytes: shared pages divided among the processes that map them. */
export function pss(pid) {
  const m = /^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

/** Unique set size in bytes: the process's private pages, what its exit would give back. */
export function uss(pid) {
  const text = read(`/proc/${pid}/smaps_rollup`) ?? '';
  let kb = 0;
  for (const m of text.matchAll(/^Private_(?:Clean|Dirty|Hugetlb):\s+(\d+) kB/gm)) kb += Number(m[1]);
  return kb * 1024;
}

export const sum = (pids, f) => pids.reduce((a, p) => a + f(p), 0);

/**
 * Samples the summed PSS of `pidsFn()` every `everyMs` until stop(); returns the peak (bytes).
 * PSS over a set of processes counts each page they share once (RSS would count a library 60
 * times for 60 processes).
 */
export function sampleMemory(pidsFn, everyMs = 100) {
  let peak = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    peak = Math.max(peak, sum(pidsFn(), pss));
    timer = setTimeout(tick, everyMs);
  };
  let timer = setTimeout(tick, 0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      peak = Math.max(peak, sum(pidsFn(), pss));
      return peak;
    },
  };
}

/** Host mount points whose line in /proc/self/mountinfo mentions `text`. */
export function mountsMentioning(text) {
  return (read('/proc/self/mountinfo') ?? '').split('\n').filter((l) => l.includes(text));
}

/** Processes whose command line contains `text` (the bench's own process excluded). */
export function processesMatching(text) {
  const out = [];
  for (const [pid, p] of processTable()) if (pid !== process.pid && p.cmdline.includes(text)) out.push({ pid, cmdline: p.cmdline });
  return out;
}

export function pidNamespace(pid) {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}
