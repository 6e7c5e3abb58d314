/**
 * What a nested test run started, seen from outside, and proof that nothing of it is left.
 *
 * The run is given a mark (an environment variable). Every process it starts inherits it: the
 * runner, its workers, each worker's sandbox (`unshare` and the sandbox itself, which carries its
 * `MAYFLY_SANDBOX_ID`). Containers run inside their sandbox's pid namespace, so they cannot outlive
 * it; their published ports are the sandbox's listening sockets in the host's network namespace.
 * While the run goes, the watch samples the marked processes, their sandboxes and the TCP ports they
 * listen on. "Nothing left running" then means, precisely:
 *  - no process carrying the mark is alive (no runner, worker or sandbox, hence no container);
 *  - none of the host ports seen listening is listening any more, whoever would hold it;
 *  - no container directory in $MAYFLY_HOME/containers belongs to one of the sandboxes seen.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const MARK_VAR = 'MAYFLY_TEST_RUN_MARK';

export class RunWatch {
  readonly mark = randomBytes(8).toString('hex');
  readonly pids = new Set<number>();
  readonly sandboxes = new Set<string>();
  readonly ports = new Set<number>();
  /** the sandboxes' processes: they hold the published ports, looked at more often than the whole scan */
  private readonly sandboxPids = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private portTimer: NodeJS.Timeout | undefined;

  /** the environment variable to give the run */
  get env(): Record<string, string> {
    return { [MARK_VAR]: this.mark };
  }

  start(intervalMs = 100): this {
    const tick = () => {
      this.sample();
      this.timer = setTimeout(tick, intervalMs);
    };
    tick();
    // a container of a fast machine can come and go between two scans: its port is looked for every 20 ms
    const portTick = () => {
      this.samplePorts([...this.sandboxPids]);
      this.portTimer = setTimeout(portTick, 20);
    };
    portTick();
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.portTimer);
    this.sample();
  }

  /** Marked processes alive now, with their sandbox id (if they are one). */
  marked(): { pid: number; sandbox?: string }[] {
    const out: { pid: number; sandbox?: string }[] = [];
    const needle = `${MARK_VAR}=${this.mark}`;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let environ: string[];
      try {
        environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      } catch {
        continue; // gone, or another user's
      }
      if (!environ.includes(needle)) continue;
      const sandbox = environ.find((e) => e.startsWith('MAYFLY_SANDBOX_ID='))?.slice('MAYFLY_SANDBOX_ID='.length);
      out.push({ pid: Number(entry), ...(sandbox ? { sandbox } : {}) });
    }
    return out;
  }

  /** Records what the run has now (also called every interval). */
  sample(): void {
    const procs = this.marked();
    for (const p of procs) {
      this.pids.add(p.pid);
      if (p.sandbox) {
        this.sandboxes.add(p.sandbox);
        this.sandboxPids.add(p.pid);
      }
    }
    this.samplePorts(procs.map((p) => p.pid));
  }

  /** Records the TCP ports these processes listen on now. */
  private samplePorts(pids: number[]): void {
    if (!pids.length) return;
    const inodes = new Set(pids.flatMap(socketInodes));
    for (const l of listeningTcp()) if (inodes.has(l.inode)) this.ports.add(l.port);
  }

  /** What is still there of the run now (all empty: nothing is). */
  leftovers(): { processes: number[]; ports: number[]; containers: string[] } {
    const listening = new Set(listeningTcp().map((l) => l.port));
    return {
      processes: this.marked().map((p) => p.pid),
      ports: [...this.ports].filter((p) => listening.has(p)),
      containers: containersOf(this.sandboxes),
    };
  }
}

function socketInodes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** TCP sockets listening in this process's (the host's) network namespace. */
export function listeningTcp(): { port: number; inode: string }[] {
  const out: { port: number; inode: string }[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A: LISTEN
      out.push({ port: Number.parseInt(f[1]!.split(':')[1]!, 16), inode: f[9]! });
    }
  }
  return out;
}

/** Container directories whose state says one of these sandboxes made them. */
function containersOf(sandboxes: Set<string>): string[] {
  const dir = join(process.env.MAYFLY_HOME!, 'containers');
  const out: string[] = [];
  let ids: string[];
  try {
    ids = readdirSync(dir);
  } catch {
    return out;
  }
  for (const id of ids) {
    try {
      const state = JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8')) as { sandboxId?: string };
      if (state.sandboxId && sandboxes.has(state.sandboxId)) out.push(id);
    } catch {
      // being made or removed
    }
  }
  return out;
}

/** Waits (polling, no fixed sleep) until nothing of the run is left, or says what is. */
export async function nothingLeft(watch: RunWatch, timeoutMs = 30_000): Promise<{ processes: number[]; ports: number[]; containers: string[] }> {
  const end = Date.now() + timeoutMs;
  let left = watch.leftovers();
  while (Date.now() < end && (left.processes.length || left.ports.length || left.containers.length)) {
    await new Promise((r) => setTimeout(r, 50));
    left = watch.leftovers();
  }
  return left;
}
