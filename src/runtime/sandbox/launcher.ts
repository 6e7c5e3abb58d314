/**
 * How a sandbox turns a container's start steps into a running process: natively (the C library
 * clones the process and runs the steps; ~1 ms, nothing kept warm) or through a Node shim started
 * ahead of time (the fallback: where the library cannot be loaded, or MAYFLY_START_PATH=node).
 * exec goes the same way: the native path makes the process in the container's pid namespace, the
 * fallback runs a shim under `nsenter --pid`.
 */
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import { MayflyError } from '../../core/errors.js';
import { PidfdExits } from '../native/pidfd-exits.js';
import { nativeUnavailable, probeNative, startNative, startNativeAsync, type Placement } from '../native/native-start.js';
import { outputPipe } from '../../sys/pipes.js';
import type { ShimMessage } from '../shim/plan.js';
import { NODE_ONLY_OPS, START_NAMESPACES, type Step } from '../shim/steps.js';
import { execved, ShimPool, spawnShim, spawnShimProcess, type ProcessIO } from './shim-pool.js';

export type { ProcessIO } from './shim-pool.js';

export type StartFailure = Extract<ShimMessage, { type: 'failed' }>;

export interface Launch {
  /** the container's PID 1 as the sandbox numbers it */
  pid: number;
  stdout: Readable;
  stderr: Readable;
  /** settles once the program runs (undefined), or with the failure of a step (the process then ends) */
  started: Promise<StartFailure | undefined>;
  /** Docker's exit code (128+n for signal n), once the process has ended and both outputs are drained */
  done: Promise<number>;
}

/** A command run in a running container (exec). */
export interface ExecLaunch {
  stdout: Readable;
  stderr: Readable;
  /** Docker's exit code, as soon as the process has exited (something it started may still hold its outputs open) */
  exited: Promise<number>;
  /** exited, and both outputs drained */
  done: Promise<number>;
  /** the step that failed, once it has exited; undefined when the command ran */
  failure(): StartFailure | undefined;
  /** lets go of the outputs (and the shim's other streams) */
  release(): void;
}

export interface Launcher {
  readonly kind: 'native' | 'node';
  /** what `mayfly doctor` shows: why this path is used */
  readonly detail: string;
  /** `fresh`: the process must see the sandbox's latest mounts (a warm shim's mount namespace is older) */
  launch(steps: Step[], opts: { fresh: boolean; io?: ProcessIO }): Promise<Launch>;
  /** runs join steps (steps.ts joinSteps) in the container whose PID 1 is `pid1` */
  exec(steps: Step[], pid1: number, io?: ProcessIO): Promise<ExecLaunch>;
  /** a start is over: the Node path warms its next shim now */
  refill(): void;
  close(): void;
}

const signalNumbers = constants.signals as Record<string, number>;

/** The native start's fds 0-2 for `io`, and the output pipes (already ended streams when a terminal carries the output). */
function stdioFor(io: ProcessIO): { out: { readable: Readable; handedOver(): void }; err: { readable: Readable; handedOver(): void }; fds: [number, number, number] } {
  if ('terminal' in io) {
    const none = () => ({ readable: Readable.from([]), handedOver() {} });
    return { out: none(), err: none(), fds: [io.terminal, io.terminal, io.terminal] };
  }
  const out = outputPipe();
  const err = outputPipe();
  return { out, err, fds: [io.stdin ?? -1, out.writeFd, err.writeFd] };
}

const ended = (s: Readable) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : s.once('close', () => r())));

class NativeLauncher implements Launcher {
  readonly kind = 'native';
  private readonly exits = new PidfdExits();
  /** for the rare step list with an operation only the Node executor has: a shim started then */
  private readonly nodeShims: NodeShimLauncher;
  private waiting = 0;
  private inFlight = 0;

  constructor(
    shimCommand: string[],
    readonly detail: string,
  ) {
    this.nodeShims = new NodeShimLauncher(shimCommand, 0, detail);
  }

  /**
   * A start alone is made on this thread: it waits a millisecond or two for the child's set-up,
   * where a pool thread would add two thread wake-ups (each a wait for a CPU on a busy machine).
   * Starts that come together (requests handled in the same turn of the event loop reach this
   * point after one setImmediate) go to libuv's pool, so that none waits for the others' set-up.
   */
  private async start(steps: Step[], stdio: [number, number, number], where: Placement) {
    this.waiting++;
    await new Promise((r) => setImmediate(r));
    const alone = this.waiting === 1 && this.inFlight === 0;
    this.waiting--;
    if (alone) return startNative(steps, stdio, where);
    this.inFlight++;
    try {
      return await startNativeAsync(steps, stdio, where);
    } finally {
      this.inFlight--;
    }
  }

  async launch(steps: Step[], opts: { fresh: boolean; io?: ProcessIO }): Promise<Launch> {
    if (steps.some((s) => NODE_ONLY_OPS.has(s.op))) return this.nodeShims.launch(steps, { fresh: true, ...(opts.io ? { io: opts.io } : {}) });
    const { out, err, fds } = stdioFor(opts.io ?? {});
    let r: Awaited<ReturnType<typeof startNativeAsync>>;
    try {
      r = await this.start(steps, fds, { nsFlags: START_NAMESPACES });
    } finally {
      out.handedOver();
      err.handedOver();
    }
    if (!r.made) {
      out.readable.destroy();
      err.readable.destroy();
      throw new MayflyError('CONTAINER_START_FAILED', `the container's process could not be created: ${r.failure.message}`, { details: { ...r.failure } });
    }
    const exited = this.exits.watch(r.pidfd, r.pid);
    const done = Promise.all([exited, ended(out.readable), ended(err.readable)]).then(([code]) => code);
    const failure: StartFailure | undefined = r.failure && { type: 'failed', ...r.failure };
    return { pid: r.pid, stdout: out.readable, stderr: err.readable, started: Promise.resolve(failure), done };
  }

  async exec(steps: Step[], pid1: number, io: ProcessIO = {}): Promise<ExecLaunch> {
    const { out, err, fds } = stdioFor(io);
    let r: Awaited<ReturnType<typeof startNativeAsync>>;
    let pidns = -1;
    try {
      pidns = openSync(`/proc/${pid1}/ns/pid`, 'r');
      r = await this.start(steps, fds, { joinPidns: pidns });
    } catch (e) {
      out.readable.destroy();
      err.readable.destroy();
      throw new MayflyError('EXEC_FAILED', `exec failed: the container's pid namespace cannot be entered: ${(e as Error).message}`);
    } finally {
      if (pidns >= 0) closeSync(pidns);
      out.handedOver();
      err.handedOver();
    }
    if (!r.made) {
      out.readable.destroy();
      err.readable.destroy();
      throw new MayflyError('EXEC_FAILED', `exec failed: ${r.failure.message}`, { details: { ...r.failure } });
    }
    const exited = this.exits.watch(r.pidfd, r.pid);
    const done = Promise.all([exited, ended(out.readable), ended(err.readable)]).then(([code]) => code);
    const failure: StartFailure | undefined = r.failure && { type: 'failed', ...r.failure };
    return {
      stdout: out.readable,
      stderr: err.readable,
      exited,
      done,
      failure: () => failure,
      release: () => {
        out.readable.destroy();
        err.readable.destroy();
      },
    };
  }

  refill(): void {}

  close(): void {}
}

class NodeShimLauncher implements Launcher {
  readonly kind = 'node';
  private readonly pool: ShimPool;

  constructor(
    private readonly command: string[],
    poolSize: number,
    readonly detail: string,
  ) {
    this.pool = new ShimPool(command, poolSize);
  }

  async launch(steps: Step[], opts: { fresh: boolean; io?: ProcessIO }): Promise<Launch> {
    // a pooled shim was spawned with the default descriptors
    const shim = await (opts.fresh || opts.io ? spawnShim(this.command, opts.io) : this.pool.take());
    const { proc } = shim;
    const wrapper = collect(proc.stderr!);
    let failure: StartFailure | undefined;
    // the exit counts once the last output is in
    const done = shim.done.then(([code, signal]) => exitCodeOf(code, signal, wrapper()));
    // Either the shim announces its execve (then we watch it happen), or it reports a failure and
    // exits. Gone without a failure message: its program ran (and ended at once).
    const started = new Promise<StartFailure | undefined>((resolve) => {
      proc.on('message', (m: ShimMessage) => {
        if (m.type === 'failed') failure = m;
        // gone instead of exec'd: wait for 'close', which comes after every message
        if (m.type === 'exec') void execved(shim).then((ok) => (ok ? resolve(undefined) : done.then(() => resolve(failure))));
      });
      void done.then(() => resolve(failure));
    });
    proc.send({ steps });
    return { pid: shim.pid, stdout: shim.stdout, stderr: shim.stderr, started, done };
  }

  async exec(steps: Step[], pid1: number, io: ProcessIO = {}): Promise<ExecLaunch> {
    // nsenter joins the pid namespace (only a new child can be in it); the shim joins the rest
    const [file, ...args] = ['nsenter', `--target=${pid1}`, '--pid', '--', ...this.command.slice(this.command.indexOf('--') + 1)];
    const shim = spawnShimProcess(file!, args, io);
    const { proc } = shim;
    const wrapper = collect(proc.stderr!);
    let failure: StartFailure | undefined;
    proc.on('message', (m: ShimMessage) => {
      if (m.type === 'ready') proc.send({ steps });
      else if (m.type === 'failed') failure = m;
    });
    const exited = new Promise<number>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (c, s) => resolve(exitCodeOf(c, s, wrapper())));
    });
    return {
      stdout: shim.stdout,
      stderr: shim.stderr,
      exited,
      done: shim.done.then(() => exited),
      failure: () => failure && { ...failure, ...(wrapper() ? { wrapper: wrapper() } : {}) },
      release: () => {
        for (const stream of [...proc.stdio, shim.stdout, shim.stderr]) stream?.destroy();
      },
    };
  }

  refill(): void {
    setTimeout(() => this.pool.refill(), 0);
  }

  close(): void {
    this.pool.close();
  }
}

/**
 * The native path unless MAYFLY_START_PATH=node asks for the shim, or the library cannot be used
 * here (then the reason is in `detail`): the library is loaded and made to start one process.
 */
export function chooseLauncher(env: NodeJS.ProcessEnv, shimCommand: string[]): Launcher {
  const pool = Number(env.MAYFLY_SHIM_POOL ?? 1);
  const forced = env.MAYFLY_START_PATH;
  if (forced === 'node') return new NodeShimLauncher(shimCommand, pool, 'Node shim (MAYFLY_START_PATH=node)');
  const why = nativeUnavailable() ?? probeNative();
  if (!why) return new NativeLauncher(shimCommand, `native (${process.arch} library, clone into the namespaces)`);
  if (forced === 'native') throw new MayflyError('SANDBOX_FAILED', `MAYFLY_START_PATH=native, but the native start path cannot be used: ${why}`);
  return new NodeShimLauncher(shimCommand, pool, `Node shim: the native path cannot be used (${why})`);
}

/** Gathers a stream's text; the returned function reads what has arrived so far. */
/** `both`: where chunks of several streams are also kept in the order they came */
export function collect(stream: Readable, both?: Buffer[]): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => {
    chunks.push(d);
    both?.push(d);
  });
  return () => Buffer.concat(chunks).toString();
}

/**
 * Docker's exit code (128+n for signal n) from what a shim's wrapper reports. util-linux 2.38
 * re-raises its child's fatal signal on itself, but cannot for SIGKILL: it then exits 1 with this message.
 */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null, wrapperStderr: string): number {
  if (signal) return 128 + (signalNumbers[signal] ?? 0);
  if (code === 1 && wrapperStderr.includes('sigprocmask unblock failed')) return 128 + 9;
  return code ?? 0;
}
