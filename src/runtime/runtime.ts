/**
 * The runtime's public face: create containers from a ContainerSpec and drive their lifecycle.
 * One sandbox per Runtime; containers end with it, or with the process that owns it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MayflyError } from '../errors.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
import { SandboxClient, type SandboxInfo } from './sandbox-client.js';
import type { ContainerStats, ExecResult } from './sandbox/protocol.js';
import { parseContainerSpec, type ContainerSpec, type ContainerSpecInput } from './spec.js';

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
}

export interface RuntimeOptions {
  /** where containers, volumes and caches live; default `$MAYFLY_HOME` or ~/.cache/mayfly */
  home?: string;
  /** called with each warning once (limits not enforced, slow rootfs driver, ...) */
  onWarning?: (message: string) => void;
}

export class Runtime {
  private readonly containers = new Map<string, Container>();
  private readonly warned = new Set<string>();

  private constructor(
    readonly sandbox: SandboxClient,
    private readonly onWarning: (message: string) => void,
  ) {
    sandbox.on('exit', (e) => this.containers.get(e.id)?._exited({ exitCode: e.exitCode, oomKilled: e.oomKilled }));
    sandbox.on('output', (e) => this.containers.get(e.id)?._output(e.stream, e.data));
    // a killed sandbox took its containers with it: nobody may wait for them forever
    sandbox.on('gone', () => {
      for (const c of this.containers.values()) c._exited({ exitCode: 137, oomKilled: false });
    });
    this.warn(sandbox.info.warnings);
  }

  static async start(opts: RuntimeOptions = {}): Promise<Runtime> {
    const sandbox = await SandboxClient.boot(opts.home ? { home: opts.home } : {});
    return new Runtime(sandbox, opts.onWarning ?? ((m) => process.emitWarning(m, { code: 'MAYFLY' })));
  }

  get info(): SandboxInfo {
    return this.sandbox.info;
  }

  /** Validates the spec (every wrong field is named) and prepares the container, without starting it. */
  async create(input: ContainerSpecInput): Promise<Container> {
    const spec = parseContainerSpec(input);
    const id = randomBytes(16).toString('hex');
    const name = spec.name ?? `mayfly-${id.slice(0, 12)}`;
    const { dir, warnings } = await this.sandbox.request('create', { id, name, spec });
    this.warn(warnings);
    const c = new Container(this, id, name, spec, dir);
    this.containers.set(id, c);
    return c;
  }

  /** create + start */
  async run(input: ContainerSpecInput, opts: { attach?: boolean } = {}): Promise<Container> {
    const c = await this.create(input);
    try {
      await c.start(opts);
    } catch (e) {
      await c.remove({ force: true }).catch(() => {});
      throw e;
    }
    return c;
  }

  /** Removes every container of this runtime and stops its sandbox. */
  async close(): Promise<void> {
    this.containers.clear();
    await this.sandbox.close();
  }

  /** @internal */
  _forget(id: string): void {
    this.containers.delete(id);
  }

  private warn(messages: string[]): void {
    for (const m of messages) {
      if (this.warned.has(m)) continue;
      this.warned.add(m);
      this.onWarning(m);
    }
  }
}

type OutputListener = (stream: 'stdout' | 'stderr', data: Uint8Array) => void;

export class Container {
  private state: 'created' | 'running' | 'paused' | 'exited' | 'removed' = 'created';
  private lastExit: ExitStatus | undefined;
  private exitWaiters: ((s: ExitStatus) => void)[] = [];
  private outputListener: OutputListener | undefined;

  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerSpec,
    /** the container's directory under MAYFLY_HOME (upper dir, log, state) */
    readonly dir: string,
  ) {}

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
    await this.sandbox.request('start', { id: this.id, attach: Boolean(opts.attach || opts.onOutput) });
    // a quick program's exit event can overtake the reply to start
    if (this.lastExit === undefined) this.state = 'running';
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
    if (this.state !== 'running' && this.state !== 'paused') return this.lastExit ?? { exitCode: 0, oomKilled: false };
    const exited = this.wait();
    await this.sandbox.request('stop', { id: this.id, ...opts });
    return exited;
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
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

  /** The container's output so far, with timestamps (kept in a JSON-lines file like Docker's). */
  logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return readLogs(join(this.dir, 'log.jsonl'), opts);
  }

  /** Removes the container: processes, mounts, cgroup, upper dir and log. */
  async remove(opts: { force?: boolean } = {}): Promise<void> {
    if (this.state === 'removed') return;
    await this.runtime.sandbox.request('remove', { id: this.id, force: opts.force ?? false });
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
