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
import { MayflyError } from '../errors.js';
import { distFile, mayflyHome } from '../paths.js';
import { prepareDelegatedCgroup } from './cgroups/index.js';
import { hostIdMapping, writeIdMaps, type IdMapping } from './idmap.js';
import type { Op, RequestMap, SandboxEvent, SandboxMessage } from './sandbox/protocol.js';
import { childPid } from './process-tree.js';

export interface SandboxInfo {
  /** the sandbox's own directory (network namespaces, staging for copies); gone with the sandbox */
  runDir: string;
  rootfsDriver: string;
  cgroups: string;
  idMapping: IdMapping;
  warnings: string[];
}

const BOOT_TIMEOUT_MS = 15_000;

async function waitForOwnUserNamespace(pid: number, child: ChildProcess): Promise<void> {
  const ours = readlinkSync('/proc/self/ns/user');
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('unshare exited');
    try {
      if (readlinkSync(`/proc/${pid}/ns/user`) !== ours) return;
    } catch {
      // not there yet
    }
    if (i > 5000) throw new Error('timed out waiting for the user namespace');
    await new Promise((r) => setTimeout(r, i < 50 ? 0 : 2));
  }
}

type Events = {
  exit: [Extract<SandboxEvent, { event: 'exit' }>];
  output: [Extract<SandboxEvent, { event: 'output' }>];
  'pull-progress': [Extract<SandboxEvent, { event: 'pull-progress' }>];
  warning: [string];
  gone: [];
};

export class SandboxClient extends EventEmitter<Events> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private closed = false;
  stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly home: string,
    readonly id: string,
    public info: SandboxInfo,
  ) {
    super();
    child.on('message', (m: SandboxMessage) => this.onMessage(m));
    child.once('exit', () => this.onGone());
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
      if (process.env.MAYFLY_DEBUG) process.stderr.write(d);
    });
    this.updateRef();
  }

  static async boot(opts: { home?: string } = {}): Promise<SandboxClient> {
    const home = opts.home ?? mayflyHome();
    const id = randomBytes(8).toString('hex');
    const idMapping = hostIdMapping();
    await prepareDelegatedCgroup();
    const env: NodeJS.ProcessEnv = { ...process.env, MAYFLY_HOME: home, MAYFLY_SANDBOX_ID: id, MAYFLY_FULL_IDMAP: idMapping.single ? '0' : '1' };
    delete env.NODE_OPTIONS; // test runners' loaders have no business in the sandbox
    const args = [
      '--user', '--mount', '--pid', '--fork', '--mount-proc', '--',
      // wait on stdin until the id maps are written: only then does exec give Node its capabilities
      '/bin/sh', '-c', 'read -r _ && exec "$0" "$@"',
      process.execPath, distFile('runtime/sandbox/main.js'),
    ];
    let child: ChildProcess;
    try {
      child = spawn('unshare', args, { stdio: ['pipe', 'ignore', 'pipe', 'ipc'], detached: true, env, serialization: 'advanced' });
    } catch (cause) {
      throw new MayflyError('USERNS_UNAVAILABLE', 'could not run util-linux unshare', { cause, hint: 'apt install util-linux' });
    }
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new MayflyError('USERNS_UNAVAILABLE', `could not run unshare: ${e.message}`, { hint: 'apt install util-linux' })));
    });
    const ready = new Promise<Extract<SandboxEvent, { event: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${BOOT_TIMEOUT_MS / 1000} s`)), BOOT_TIMEOUT_MS);
      child.on('message', (m: SandboxMessage) => {
        if ('event' in m && m.event === 'ready') {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`it exited with ${sig ?? code}`));
      });
    });
    ready.catch(() => {});
    try {
      await spawned;
      await waitForOwnUserNamespace(child.pid!, child);
      await writeIdMaps(child.pid!, idMapping);
      child.stdin!.end('\n');
      const r = await ready;
      const warnings = [...r.warnings];
      if (idMapping.single) {
        warnings.push(
          'only your own user id is mapped into containers (no /etc/subuid range, or no newuidmap): images that run services as other users cannot chown; `mayfly doctor` says how to fix it',
        );
      }
      const client = new SandboxClient(child, home, id, { runDir: r.runDir, rootfsDriver: r.rootfsDriver, cgroups: r.cgroups, idMapping, warnings });
      client.stderrTail = stderr;
      return client;
    } catch (cause) {
      child.kill('SIGKILL');
      if (cause instanceof MayflyError) throw cause;
      throw new MayflyError('USERNS_UNAVAILABLE', `could not start the mayfly sandbox: ${(cause as Error).message}${stderr ? `\n${stderr.trim()}` : ''}`, {
        cause,
        hint: 'run `mayfly doctor` to see what this machine allows (user namespaces, /etc/subuid, uidmap)',
      });
    }
  }

  /** The sandbox's host pid (the Node process inside the namespaces), for diagnostics and tests. */
  processId(): number | undefined {
    return childPid(this.child.pid!);
  }

  request<K extends Op>(op: K, args: RequestMap[K]['args']): Promise<RequestMap[K]['result']> {
    if (this.closed) return Promise.reject(this.goneError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op });
      this.updateRef();
      this.child.send({ id, op, args });
    });
  }

  /** Asks the sandbox to remove everything and exit; resolves once it has. */
  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    await this.hold(exited);
  }

  private goneError(): MayflyError {
    return new MayflyError('SANDBOX_GONE', 'the mayfly sandbox process is gone; its containers were removed with it', {
      details: { stderr: this.stderrTail },
      hint: this.stderrTail ? undefined : 'was it killed from outside?',
    });
  }

  private onMessage(m: SandboxMessage): void {
    if ('event' in m) {
      if (m.event === 'exit') this.emit('exit', m);
      else if (m.event === 'output') this.emit('output', m);
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

  /** Keep the owner's event loop alive only while it waits for an answer or listens for output. */
  /**
   * The sandbox keeps this process alive only while an answer or an exit is awaited: a test
   * process (or a script) ends when its work is done, and its containers end with it. Output
   * listeners do not count (the Runtime always has one), and the sandbox's stderr is diagnostics.
   */
  private updateRef(): void {
    const busy = this.pending.size > 0 || this.waiters > 0;
    const channel = (this.child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    (this.child.stderr as { unref?: () => void } | null)?.unref?.();
    if (busy) {
      this.child.ref();
      channel?.ref();
    } else {
      this.child.unref();
      channel?.unref();
    }
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
