/**
 * A container as its owner sees it: a handle on the sandbox's container with its lifecycle verbs,
 * published ports, exec, logs and stats. Exit and output events arrive from the sandbox through
 * the runtime that made it.
 */
import { join } from 'node:path';
import { isMayflyError, MayflyError } from '../core/errors.js';
import type { PublishedPort } from '../model/container-types.js';
import type { Attachment } from '../model/container-types.js';
import { hostOf, hostPortOf, ipOf, urlOf } from '../model/addresses.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from '../model/container-logs.js';
import type { SandboxClient } from './sandbox-client.js';
import type { ContainerStats, ExecResult } from '../model/container-types.js';
import type { ContainerSpec } from '../model/container-spec.js';
import type { ExitStatus } from '../model/container-types.js';

/** What a container needs from the runtime that made it. */
export interface ContainerOwner {
  readonly sandbox: SandboxClient;
  /** @internal */
  _forget(id: string): void;
}

export type OutputListener = (stream: 'stdout' | 'stderr', data: Uint8Array) => void;

/** a terminal's window size (`-t`) */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** An exec whose output streams and whose input (with `stdin` or `tty`) is written as it comes. */
export interface ExecSession {
  /** bytes for the command's stdin (or its terminal) */
  write(data: Uint8Array): Promise<void>;
  /** EOF on its stdin */
  closeStdin(): Promise<void>;
  resize(size: TerminalSize): Promise<void>;
  /** its exit code (126/127 when it could not be run) */
  readonly exited: Promise<number>;
}

let execSessions = 0;

export class Container {
  private state: 'created' | 'running' | 'paused' | 'exited' | 'removed' = 'created';
  private lastExit: ExitStatus | undefined;
  private exitWaiters: ((s: ExitStatus) => void)[] = [];
  private outputListener: OutputListener | undefined;
  private published: PublishedPort[] = [];
  private attachments: Attachment[] = [];

  /** @internal */
  constructor(
    private readonly runtime: ContainerOwner,
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerSpec,
    /** the container's directory under MAYFLY_HOME (upper dir, log, state) */
    readonly dir: string,
  ) {}

  /** how it last ended, once it has */
  get exitStatus(): ExitStatus | undefined {
    return this.lastExit;
  }

  get status(): 'created' | 'running' | 'paused' | 'exited' | 'removed' {
    return this.state;
  }

  private get sandbox(): SandboxClient {
    if (this.state === 'removed') throw new MayflyError('CONTAINER_NOT_FOUND', `container ${this.name} was removed`);
    return this.runtime.sandbox;
  }

  /** Starts the container; resolves once its program runs (execve succeeded). */
  async start(opts: { attach?: boolean; onOutput?: OutputListener; size?: TerminalSize } = {}): Promise<void> {
    return this._startWith((attach) => this.sandbox.request('start', { id: this.id, attach, ...(opts.size ? { size: opts.size } : {}) }), opts);
  }

  /** Input for the running PID 1 of a container made with `openStdin` or `tty` (`-i`, `-t`). */
  async write(data: Uint8Array): Promise<void> {
    await this.sandbox.request('input', { id: this.id, data });
  }

  /** EOF on PID 1's stdin (with a terminal: its EOF character). */
  async closeStdin(): Promise<void> {
    await this.sandbox.request('input', { id: this.id, eof: true });
  }

  /** The window size of PID 1's terminal (`tty`). */
  async resize(size: TerminalSize): Promise<void> {
    await this.sandbox.request('resize', { id: this.id, ...size });
  }

  /** @internal starts through `request` (the runtime's run() creates and starts in one request) */
  async _startWith(request: (attach: boolean) => Promise<{ ports: PublishedPort[]; networks: Attachment[] }>, opts: { attach?: boolean; onOutput?: OutputListener } = {}): Promise<void> {
    this.outputListener = opts.onOutput;
    this.lastExit = undefined;
    const started = request(Boolean(opts.attach || opts.onOutput));
    this.starting = started.then(
      () => {},
      () => {},
    );
    const { ports, networks } = await started;
    this.published = ports;
    this.attachments = networks;
    // a quick program's exit event can overtake the reply to start
    if (this.lastExit === undefined) this.state = 'running';
  }

  /** settles when the latest start request does: a stop asked for meanwhile (Ctrl-C at once) waits for it */
  private starting: Promise<void> = Promise.resolve();

  /** The host address of published ports. */
  get host(): string {
    return hostOf(this.published);
  }

  /** The published ports of the running container (like `docker port`). */
  ports(): PublishedPort[] {
    return [...this.published];
  }

  /** The host port a container port is published on (`getMappedPort`). */
  port(containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    return hostPortOf(this.name, this.published, containerPort, protocol);
  }

  /** `http://host:port/path` for a published container port. */
  url(containerPort: number, path = '/'): string {
    return urlOf(this.name, this.published, containerPort, path);
  }

  /** The user-defined networks of the running container: address, interface and aliases on each. */
  networks(): Attachment[] {
    return this.attachments.map((a) => ({ ...a, aliases: [...a.aliases] }));
  }

  /** The container's address on a network (its first one by default), as its peers reach it. */
  ip(network?: string): string {
    return ipOf(this.name, this.attachments, network);
  }

  /** Resolves when the container's PID 1 exits, with Docker's exit code (128+n for signal n). */
  wait(): Promise<ExitStatus> {
    if (this.state !== 'running' && this.state !== 'paused') {
      if (this.lastExit) return Promise.resolve(this.lastExit);
      return Promise.reject(new MayflyError('CONTAINER_STATE', `container ${this.name} is not running`));
    }
    return this.sandbox.hold(new Promise((resolve) => this.exitWaiters.push(resolve)));
  }

  /** Sends the stop signal (SIGTERM unless the spec says otherwise), then SIGKILL after `timeout` seconds. */
  async stop(opts: { signal?: string; timeout?: number } = {}): Promise<ExitStatus> {
    await this.starting;
    if (this.state !== 'running' && this.state !== 'paused') return this.lastExit ?? { exitCode: 0, oomKilled: false };
    const exited = this.wait();
    await this.sandbox.request('stop', { id: this.id, ...opts });
    return exited;
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
    await this.starting;
    await this.sandbox.request('kill', { id: this.id, signal });
  }

  /** Freezes every process (cgroup freezer, else SIGSTOP); returns which method was used. */
  async pause(): Promise<'freezer' | 'sigstop'> {
    const { method } = await this.sandbox.request('pause', { id: this.id });
    this.state = 'paused';
    return method;
  }

  async unpause(): Promise<void> {
    await this.sandbox.request('unpause', { id: this.id });
    if (this.state === 'paused') this.state = 'running';
  }

  async restart(opts: { timeout?: number } = {}): Promise<void> {
    await this.stop(opts);
    await this.start(this.outputListener ? { onOutput: this.outputListener } : {});
  }

  /** Runs a command inside the running container (its namespaces, user, env, working dir). */
  exec(argv: string[], opts: { env?: Record<string, string>; user?: string; workingDir?: string } = {}): Promise<ExecResult> {
    if (!argv.length) return Promise.reject(new MayflyError('INVALID_OPTION', 'exec needs a command'));
    return this.sandbox.request('exec', { id: this.id, request: { argv, ...opts } });
  }

  /**
   * Runs a command in the running container with its output streamed to `onOutput` as it comes;
   * `stdin` keeps its stdin open for `write`, `tty` gives it a terminal of the container's devpts
   * (its output then all comes as stdout). Resolves once it runs.
   */
  async execAttached(
    argv: string[],
    opts: { env?: Record<string, string>; user?: string; workingDir?: string; stdin?: boolean; tty?: boolean; size?: TerminalSize },
    onOutput: OutputListener,
  ): Promise<ExecSession> {
    if (!argv.length) throw new MayflyError('INVALID_OPTION', 'exec needs a command');
    const sandbox = this.sandbox;
    const session = `${this.id}/exec/${++execSessions}`;
    const { stdin, tty, size, ...request } = opts;
    const onData = (e: { id: string; stream: 'stdout' | 'stderr'; data: Uint8Array }) => e.id === session && onOutput(e.stream, e.data);
    let onExit: (e: { session: string; exitCode: number }) => void = () => {};
    const exited = sandbox.hold(
      new Promise<number>((resolve, reject) => {
        onExit = (e) => e.session === session && resolve(e.exitCode);
        sandbox.on('output', onData);
        sandbox.on('exec-exit', onExit);
        sandbox.once('gone', () => reject(new MayflyError('SANDBOX_GONE', 'the mayfly sandbox process is gone')));
      }),
    ).finally(() => {
      sandbox.off('output', onData);
      sandbox.off('exec-exit', onExit);
    });
    exited.catch(() => {});
    try {
      await sandbox.request('exec-attached', { id: this.id, session, request: { argv, ...request }, tty: Boolean(tty), stdin: Boolean(stdin), ...(size ? { size } : {}) });
    } catch (e) {
      sandbox.off('output', onData);
      sandbox.off('exec-exit', onExit);
      throw e;
    }
    return {
      write: async (data) => void (await sandbox.request('input', { id: session, data })),
      closeStdin: async () => void (await sandbox.request('input', { id: session, eof: true })),
      resize: async (s) => void (await sandbox.request('resize', { id: session, ...s })),
      exited,
    };
  }

  stats(): Promise<ContainerStats> {
    return this.sandbox.request('stats', { id: this.id });
  }

  /** The TCP ports a process inside the container listens on (its own network namespace, not the host's forwarders). */
  async listening(): Promise<number[]> {
    return (await this.sandbox.request('listening', { id: this.id })).tcp;
  }

  /** Bytes in the container's writable layer (`docker ps -s`). */
  async diskUsage(): Promise<number> {
    return (await this.sandbox.request('disk-usage', { id: this.id })).rw;
  }

  /** `docker network connect`: joins now if it runs, at its next start otherwise. */
  async connect(network: string, aliases: string[] = []): Promise<void> {
    const { networks } = await this.sandbox.request('network-connect', { id: this.id, network, aliases });
    if (this.spec.network === 'none') {
      this.spec.network = network;
      this.spec.networkAliases = aliases;
    } else this.spec.networks.push({ name: network, aliases });
    if (this.state === 'running' || this.state === 'paused') this.attachments = networks;
  }

  /** `docker network disconnect`. */
  async disconnect(network: string): Promise<void> {
    const { networks } = await this.sandbox.request('network-disconnect', { id: this.id, network });
    if (this.spec.network === network) {
      this.spec.network = 'none';
      this.spec.networkAliases = [];
    } else this.spec.networks = this.spec.networks.filter((n) => n.name !== network);
    if (this.state === 'running' || this.state === 'paused') this.attachments = networks;
  }

  /** What a path of the running container is (`docker cp` copies into a directory, or as a new name). */
  async pathKind(path: string): Promise<'dir' | 'file' | 'missing'> {
    return (await this.sandbox.request('path-kind', { id: this.id, path })).kind;
  }

  /** Extracts a tar (a host file) into `targetDir` of the running container, owned by its root. */
  async copyArchiveIn(archive: string, targetDir: string): Promise<void> {
    await this.sandbox.request('copy-in', { id: this.id, archive, targetDir });
  }

  /** Writes `path` of the running container (file or directory) as a tar to the host file `archive`. */
  async copyArchiveOut(path: string, archive: string): Promise<void> {
    await this.sandbox.request('copy-out', { id: this.id, path, archive });
  }

  /** The container's output so far, with timestamps (kept in a JSON-lines file like Docker's). */
  logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return readLogs(join(this.dir, 'log.jsonl'), opts);
  }

  /** Removes the container: processes, mounts, cgroup, upper dir and log. */
  async remove(opts: { force?: boolean } = {}): Promise<void> {
    if (this.state === 'removed') return;
    try {
      await this.runtime.sandbox.request('remove', { id: this.id, force: opts.force ?? false });
    } catch (e) {
      // a dead sandbox took its containers with it (the next one sweeps their directories)
      if (!isMayflyError(e, 'SANDBOX_GONE')) throw e;
    }
    this.state = 'removed';
    this.runtime._forget(this.id);
    this.flushWaiters(this.lastExit ?? { exitCode: 137, oomKilled: false });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true });
  }

  /** @internal */
  _exited(s: ExitStatus): void {
    this.lastExit = s;
    this.published = [];
    this.attachments = [];
    if (this.state !== 'removed') this.state = 'exited';
    this.flushWaiters(s);
  }

  /** @internal */
  _output(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    this.outputListener?.(stream, data);
  }

  private flushWaiters(s: ExitStatus): void {
    for (const w of this.exitWaiters.splice(0)) w(s);
  }
}
