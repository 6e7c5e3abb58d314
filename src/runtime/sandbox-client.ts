/**
 * The owner's side of a sandbox: enters the user namespace through util-linux `unshare` (Node
 * itself is multithreaded and cannot), writes the id maps, lets the sandbox start, then talks to it
 * over the IPC channel. The channel never keeps the owner alive on its own: when the owner exits,
 * the sandbox sees the channel close and removes every container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { MayflyError } from '../core/errors.js';
import { distFile, mayflyHome } from '../core/paths.js';
import { prepareDelegatedCgroup } from './cgroups/index.js';
import { hostIdMapping, idMapBlocked, writeIdMaps, type IdMapping } from './idmap.js';
import { findStartLimits, type StartDegradation } from './start-limits.js';
import type { StartLimits } from './shim/plan.js';
import { liftingSetting } from '../core/confinement.js';
import { sandboxStartError } from './sandbox-start-error.js';
import type { Serializable } from 'node:child_process';
import type { Op, RequestMap, SandboxEvent, SandboxMessage } from './sandbox/protocol.js';
import { childPid } from './process-tree.js';

export interface SandboxInfo {
  /** the sandbox's own directory (network namespaces, staging for copies); gone with the sandbox */
  runDir: string;
  rootfsDriver: string;
  /** why a driver other than plain overlay was chosen */
  rootfsReason?: string;
  cgroups: string;
  /** how containers are started: `native (...)` or `Node shim (...)` with the reason */
  startPath: string;
  idMapping: IdMapping;
  /** what a confined host (a CI job's container) refuses in a container's start, and the way taken instead */
  startLimits: StartLimits;
  /** those steps, each with why and the setting that lifts it (`mayfly doctor` lists them) */
  degraded: StartDegradation[];
  warnings: string[];
}

const BOOT_TIMEOUT_MS = 15_000;

async function waitForOwnUserNamespace(pid: number, child: ChildProcess): Promise<void> {
  const ours = readlinkSync('/proc/self/ns/user');
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`unshare exited with ${child.signalCode ?? child.exitCode}`);
    try {
      if (readlinkSync(`/proc/${pid}/ns/user`) !== ours) return;
    } catch {
      // not there yet
    }
    if (i > 5000) throw new Error('timed out waiting for the user namespace');
    await new Promise((r) => setTimeout(r, i < 50 ? 0 : 2));
  }
}

/** What a single-id mapping means for containers, and what would map more. */
function singleIdWarning(m: IdMapping): string {
  const fix = m.limited?.limit ? liftingSetting(m.limited.limit) : 'run `mayfly doctor` (id mapping) for the fix';
  return `only one user id is mapped into containers (${m.limited?.why ?? 'no subordinate range'}): files of other owners are kept as yours, but images whose processes switch to another user (postgres, redis, nginx workers) fail; ${fix}`;
}

/**
 * The sandbox's own namespaces. With a fresh /proc it is PID 1 of a pid namespace of its own (the
 * kernel ends every container if it dies); where that is refused it stays in ours, and each shim
 * is tied to it by a parent-death signal instead (sandbox/main.ts).
 */
function unshareArgs(limits: StartLimits): string[] {
  return limits.proc === 'new' ? ['--user', '--mount', '--pid', '--fork', '--mount-proc'] : ['--user', '--mount', '--fork'];
}

/**
 * How a client reaches its sandbox: the IPC channel of the sandbox it started, or a shared
 * sandbox's socket (shared-sandbox.ts). Either closes when the sandbox dies.
 */
export interface SandboxChannel {
  send(message: unknown): void;
  onMessage(listener: (message: SandboxMessage) => void): void;
  onGone(listener: () => void): void;
  /** whether this channel keeps the owner's event loop alive */
  hold(busy: boolean): void;
  /** ends our part: our containers removed (the whole sandbox, when it is ours alone); resolves once done */
  close(): Promise<void>;
  /** the sandbox's host pid */
  processId(): number | undefined;
  readonly shared: boolean;
}

function ipcChannel(child: ChildProcess): SandboxChannel {
  return {
    shared: false,
    send: (m) => child.send(m as Serializable),
    onMessage: (l) => child.on('message', l),
    onGone: (l) => child.once('exit', l),
    hold(busy) {
      const channel = (child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
      (child.stderr as { unref?: () => void } | null)?.unref?.();
      if (busy) {
        child.ref();
        channel?.ref();
      } else {
        child.unref();
        channel?.unref();
      }
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.disconnect();
      await exited;
    },
    processId: () => childPid(child.pid!),
  };
}

type Events = {
  exit: [Extract<SandboxEvent, { event: 'exit' }>];
  output: [Extract<SandboxEvent, { event: 'output' }>];
  'exec-exit': [Extract<SandboxEvent, { event: 'exec-exit' }>];
  'pull-progress': [Extract<SandboxEvent, { event: 'pull-progress' }>];
  warning: [string];
  gone: [];
};

/** Starts a sandbox process in new namespaces and waits for its `ready` (a shared one: once it serves its socket). */
export async function spawnSandbox(o: {
  home: string;
  id: string;
  idMapping: IdMapping;
  start: Awaited<ReturnType<typeof findStartLimits>>;
  /** what else the sandbox is told (a shared one: MAYFLY_SANDBOX_SHARED, its pointer) */
  env?: NodeJS.ProcessEnv;
  stderrFd?: number;
  readStderr?: () => string;
}): Promise<{ child: ChildProcess; ready: Extract<SandboxEvent, { event: 'ready' }> & { stderr: string } }> {
  const { home, id, idMapping, start } = o;
  const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...o.env,
      MAYFLY_HOME: home,
      MAYFLY_SANDBOX_ID: id,
      MAYFLY_FULL_IDMAP: idMapping.single ? '0' : '1',
      // said by the sandbox when a container's user cannot exist in a single-id namespace
      ...(idMapping.single ? { MAYFLY_SINGLE_ID_NOTE: singleIdWarning(idMapping) } : {}),
      MAYFLY_START_LIMITS: JSON.stringify(start.limits),
      LC_ALL: 'C', // unshare's messages are matched to explain a failure (the sandbox's tools are fine with C)
    };
    delete env.NODE_OPTIONS; // test runners' loaders have no business in the sandbox
    const command = [
      'unshare', ...unshareArgs(start.limits), '--',
      // wait on stdin until the id maps are written: only then does exec give Node its capabilities
      '/bin/sh', '-c', 'read -r _ && exec "$0" "$@"',
      // a V8 CPU profile of the sandbox, written into that directory when it exits (diagnostics:
      // where a pull's or a start's time goes inside the sandbox, which no outside profiler sees)
      process.execPath, ...(env.MAYFLY_SANDBOX_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.MAYFLY_SANDBOX_CPU_PROF}`] : []), distFile('runtime/sandbox/main.js'),
    ];
    let step = 'start unshare';
    let stderr = '';
    let sandboxError: MayflyError | undefined;
    let child: ChildProcess | undefined;
    try {
      // a shared sandbox outlives its starter: its stderr goes to a file, not into a pipe that closes
      child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'ignore', o.stderrFd ?? 'pipe', 'ipc'], detached: true, env, serialization: 'advanced' });
      const c = child;
      c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      // writing the go-ahead into a process that already died fails with EPIPE: its exit says why
      c.stdin!.on('error', () => {});
      const exited = new Promise<never>((_, reject) => c.once('exit', (code, sig) => reject(new Error(`it exited with ${sig ?? code}`))));
      exited.catch(() => {});
      await Promise.race([new Promise<void>((resolve, reject) => {
        c.once('spawn', resolve);
        c.once('error', reject);
      }), exited]);
      const ready = new Promise<Extract<SandboxEvent, { event: 'ready' }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${BOOT_TIMEOUT_MS / 1000} s`)), BOOT_TIMEOUT_MS);
        c.on('message', (m: SandboxMessage) => {
          if (!('event' in m)) return;
          if (m.event === 'ready') resolve(m);
          else if (m.event === 'boot-failed') reject((sandboxError = MayflyError.fromJSON(m.error)));
          else return;
          clearTimeout(timer);
        });
        void exited.catch((e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      ready.catch(() => {});
      step = 'create the user namespace';
      await waitForOwnUserNamespace(c.pid!, c);
      step = 'write the id maps';
      await Promise.race([writeIdMaps(c.pid!, idMapping), exited]);
      step = 'start the sandbox';
      c.stdin!.end('\n');
      const r = await ready;
      return { child: c, ready: { ...r, stderr } };
    } catch (cause) {
      // the whole group: unshare, and the sandbox it forked (which a kill of unshare alone leaves)
      if (child?.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      child?.stdin?.destroy();
      // the sandbox's stderr may still be arriving: give it a moment, it is what the user needs
      if (child && child.exitCode === null && child.signalCode === null) await new Promise((r) => child!.once('exit', r));
      await new Promise((r) => setImmediate(r));
      if (o.stderrFd !== undefined) stderr = o.readStderr?.() ?? '';
      throw sandboxStartError({ step, command, stderr, cause: sandboxError ?? cause, ...(child?.exitCode != null ? { exit: `exit code ${child.exitCode}` } : {}) });
    }
}

/** What a client knows of its sandbox: its `ready`, and what this process found out about the host. */
export function sandboxInfo(r: Extract<SandboxEvent, { event: 'ready' }>, idMapping: IdMapping, start: Awaited<ReturnType<typeof findStartLimits>>): SandboxInfo {
  const warnings = [...r.warnings];
  if (idMapping.single) warnings.push(singleIdWarning(idMapping));
  // /sys as a bind hardly matters to a test's services: doctor lists it, the log stays quiet
  for (const d of start.degraded) if (d.step !== 'mount /sys') warnings.push(`containers start, but "${d.step}" is done another way: ${d.instead}; ${d.fix}`);
  return {
    runDir: r.runDir,
    rootfsDriver: r.rootfsDriver,
    ...(r.rootfsReason ? { rootfsReason: r.rootfsReason } : {}),
    cgroups: r.cgroups,
    startPath: r.startPath,
    idMapping,
    startLimits: start.limits,
    degraded: start.degraded,
    warnings,
  };
}

export class SandboxClient extends EventEmitter<Events> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private closed = false;
  stderrTail = '';

  /** @internal (use boot, or shared-sandbox.ts's attach) */
  constructor(
    private readonly channel: SandboxChannel,
    readonly home: string,
    readonly id: string,
    public info: SandboxInfo,
  ) {
    super();
    channel.onMessage((m) => this.onMessage(m));
    channel.onGone(() => this.onGone());
    this.updateRef();
  }

  /** Whether this runtime shares its sandbox with others of the home (MAYFLY_SHARED_SANDBOX). */
  get shared(): boolean {
    return this.channel.shared;
  }

  /** A sandbox of this process's own: its containers end when this process ends. */
  static async boot(opts: { home?: string } = {}): Promise<SandboxClient> {
    const home = opts.home ?? mayflyHome();
    const id = randomBytes(8).toString('hex');
    const idMapping = hostIdMapping();
    if (idMapping.limited?.blocked) throw idMapBlocked(idMapping);
    const [start] = await Promise.all([findStartLimits(), prepareDelegatedCgroup()]);
    const { child, ready } = await spawnSandbox({ home, id, idMapping, start });
    const client = new SandboxClient(ipcChannel(child), home, id, sandboxInfo(ready, idMapping, start));
    client.stderrTail = ready.stderr;
    child.stderr?.on('data', (d: Buffer) => {
      client.stderrTail = (client.stderrTail + d.toString()).slice(-4000);
      if (process.env.MAYFLY_DEBUG) process.stderr.write(d);
    });
    return client;
  }

  /** The sandbox's host pid (the Node process inside the namespaces), for diagnostics and tests. */
  processId(): number | undefined {
    return this.channel.processId();
  }

  request<K extends Op>(op: K, args: RequestMap[K]['args']): Promise<RequestMap[K]['result']> {
    if (this.closed) return Promise.reject(this.goneError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op });
      this.updateRef();
      this.channel.send({ id, op, args });
    });
  }

  /** Asks the sandbox to remove this client's containers (and, if it is ours alone, to exit); resolves once it has. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.hold(this.channel.close());
  }

  private goneError(): MayflyError {
    return new MayflyError('SANDBOX_GONE', `the mayfly ${this.shared ? 'shared ' : ''}sandbox process is gone; its containers were removed with it`, {
      details: { stderr: this.stderrTail, shared: this.shared },
      hint: this.stderrTail ? undefined : this.shared ? 'was it killed from outside? A new Runtime.start starts another one' : 'was it killed from outside?',
    });
  }

  private onMessage(m: SandboxMessage): void {
    if ('event' in m) {
      if (m.event === 'exit') this.emit('exit', m);
      else if (m.event === 'output') this.emit('output', m);
      else if (m.event === 'exec-exit') this.emit('exec-exit', m);
      else if (m.event === 'pull-progress') this.emit('pull-progress', m);
      else if (m.event === 'warning') this.emit('warning', m.message);
      return;
    }
    const p = this.pending.get(m.re);
    if (!p) return;
    this.pending.delete(m.re);
    this.updateRef();
    if (m.ok) p.resolve(m.value);
    else p.reject(MayflyError.fromJSON(m.error));
  }

  private onGone(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(this.goneError());
    this.pending.clear();
    this.emit('gone');
  }

  /**
   * The sandbox keeps this process alive only while an answer or an exit is awaited: a test
   * process (or a script) ends when its work is done, and its containers end with it. Output
   * listeners do not count (the Runtime always has one), and the sandbox's stderr is diagnostics.
   */
  private updateRef(): void {
    this.channel.hold(this.pending.size > 0 || this.waiters > 0);
  }

  private waiters = 0;

  /** Holds the owner's event loop open until `done` settles (e.g. while waiting for an exit). */
  async hold<T>(done: Promise<T>): Promise<T> {
    this.waiters++;
    this.updateRef();
    try {
      return await done;
    } finally {
      this.waiters--;
      this.updateRef();
    }
  }
}
