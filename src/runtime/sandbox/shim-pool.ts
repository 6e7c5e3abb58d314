/**
 * Shims started ahead of time. Starting Node inside fresh namespaces costs ~70 ms; a container
 * start only has to hand a waiting shim its plan, so that cost is paid before anyone asks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { Readable } from 'node:stream';
import { outputPipe } from '../../sys/pipes.js';
import { childPid } from '../process-tree.js';
import { SHIM_CHANNEL_FD, type ShimMessage } from '../shim/plan.js';

/**
 * The descriptors a container's process gets: by default /dev/null as stdin and pipes for its
 * output; `stdin`: a descriptor (a pipe's read end: `-i`) instead of /dev/null; `terminal`: a pty
 * slave as stdin, stdout and stderr (`-t`). The caller keeps its descriptors and closes them.
 */
export type ProcessIO = { stdin?: number } | { terminal: number };

export interface ShimProcess {
  proc: ChildProcess;
  /** the container's stdout and stderr (fds 1 and 4 of the shim: real pipes, not sockets) */
  stdout: Readable;
  stderr: Readable;
  /** resolves once the process has exited and both outputs are drained */
  done: Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * Spawns a shim (or its nsenter wrapper) with the descriptor layout of SHIM_STDIO: fd 2 for the
 * wrapper's own diagnostics, fd 3 the IPC channel, and pipes at 1 and 4 for the container.
 */
export function spawnShimProcess(file: string, args: string[], io: ProcessIO = {}): ShimProcess {
  if ('terminal' in io) {
    // a pty slave as the container's fds 0, 1 and 4 (moved to 2 at exec); its output comes from the master
    const t = io.terminal;
    const proc = spawn(file, args, { stdio: [t, t, 'pipe', 'ipc', t] });
    const none = () => Readable.from([]);
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('close', (code, sig) => r([code, sig])));
    return { proc, stdout: none(), stderr: none(), done: exited };
  }
  const out = outputPipe();
  const err = outputPipe();
  let proc: ChildProcess;
  try {
    proc = spawn(file, args, { stdio: [io.stdin ?? 'ignore', out.writeFd, 'pipe', 'ipc', err.writeFd] });
  } finally {
    out.handedOver();
    err.handedOver();
  }
  const ended = (s: Readable) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : s.once('close', () => r())));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('close', (code, sig) => r([code, sig])));
  const done = Promise.all([exited, ended(out.readable), ended(err.readable)]).then(([e]) => e);
  return { proc, stdout: out.readable, stderr: err.readable, done };
}

export interface Shim extends ShimProcess {
  /** the util-linux `unshare` that created the namespaces and waits for the shim */
  proc: ChildProcess;
  /** the shim's pid (the container's PID 1 once it execs), as this sandbox numbers it */
  pid: number;
  /** where the shim's IPC socket shows in /proc/PID/fd, and what it links to */
  channelFd: string;
  channel: string;
}


/**
 * Resolves once the shim's execve has succeeded (its channel socket left its fd table: true), or
 * the process is gone (false: its exit and any failure message are reported separately).
 */
export async function execved(shim: Shim): Promise<boolean> {
  for (let i = 0; ; i++) {
    let link: string | undefined;
    try {
      link = readlinkSync(shim.channelFd);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${shim.pid}/stat`);
    }
    if (link !== shim.channel) return true;
    await new Promise((r) => (i < 20 ? setImmediate(r) : setTimeout(r, 1)));
  }
}

export function spawnShim(command: string[], io: ProcessIO = {}): Promise<Shim> {
  const [file, ...args] = command;
  const shim = spawnShimProcess(file!, args, io);
  const { proc } = shim;
  return new Promise((resolve, reject) => {
    let stderr = '';
    const onErr = (d: Buffer) => (stderr += d.toString());
    proc.stderr!.on('data', onErr);
    const fail = (why: string) => reject(new Error(`${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    proc.once('error', (e) => fail(e.message));
    proc.once('exit', (code, sig) => fail(`shim exited before it was ready (${sig ?? code})`));
    proc.once('message', (m: ShimMessage) => {
      if (m.type !== 'ready') return fail(`unexpected shim message ${JSON.stringify(m)}`);
      proc.removeAllListeners('exit');
      proc.removeAllListeners('error');
      proc.stderr!.off('data', onErr);
      const pid = childPid(proc.pid!);
      if (!pid) return fail('shim process not found');
      resolve({ ...shim, pid, channelFd: `/proc/${pid}/fd/${SHIM_CHANNEL_FD}`, channel: m.channel });
    });
  });
}

export class ShimPool {
  private readonly ready: Promise<Shim>[] = [];
  private closed = false;

  constructor(
    private readonly command: string[],
    private readonly size: number,
  ) {
    this.fill();
  }

  /**
   * A ready shim: a waiting one if there is one, else a fresh one. The pool is refilled by
   * `refill()` once the caller's start is done: a Node start-up beside it would slow it down.
   */
  async take(): Promise<Shim> {
    const next = this.ready.shift();
    if (next) {
      try {
        return await next;
      } catch {
        // a pooled shim died (e.g. killed from outside): start a fresh one below
      }
    }
    return spawnShim(this.command);
  }

  close(): void {
    this.closed = true;
    for (const p of this.ready.splice(0)) p.then((s) => s.proc.kill('SIGKILL')).catch(() => {});
  }

  refill(): void {
    this.fill();
  }

  private fill(): void {
    while (!this.closed && this.ready.length < this.size) {
      const p = spawnShim(this.command);
      p.catch(() => {}); // surfaced when taken
      this.ready.push(p);
    }
  }
}
