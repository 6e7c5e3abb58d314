/**
 * A container as its owner sees it: a handle on the sandbox's container with its lifecycle verbs,
 * published ports, exec, logs and stats. Exit and output events arrive from the sandbox through
 * the runtime that made it.
 */
import { join } from 'node:path';
import { isMayflyError, MayflyError } from '../errors.js';
import type { PublishedPort } from '../network/port-forwarder.js';
import type { Attachment } from '../network/sandbox-networks.js';
import { hostOf, hostPortOf, ipOf, urlOf } from './addresses.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
import type { SandboxClient } from './sandbox-client.js';
import type { ContainerStats, ExecResult } from './sandbox/protocol.js';
import type { ContainerSpec } from './spec.js';

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
}

/** What a container needs from the runtime that made it. */
export interface ContainerOwner {
  readonly sandbox: SandboxClient;
  /** @internal */
  _forget(id: string): void;
}

export type OutputListener = (stream: 'stdout' | 'stderr', data: Uint8Array) => void;

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
  async start(opts: { attach?: boolean; onOutput?: OutputListener } = {}): Promise<void> {
    this.outputListener = opts.onOutput;
    this.lastExit = undefined;
    const request = this.sandbox.request('start', { id: this.id, attach: Boolean(opts.attach || opts.onOutput) });
    this.starting = request.then(
      () => {},
      () => {},
    );
    const { ports, networks } = await request;
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

  stats(): Promise<ContainerStats> {
    return this.sandbox.request('stats', { id: this.id });
  }

  /** The TCP ports a process inside the container listens on (its own network namespace, not the host's forwarders). */
  async listening(): Promise<number[]> {
    return (await this.sandbox.request('listening', { id: this.id })).tcp;
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
