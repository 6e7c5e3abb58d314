/**
 * A container the harness started and found ready: where to reach it (`host`, `port`, `url`), what it
 * said (`logs`, `logStream`), and the verbs a test needs. `await using` removes it at scope end.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { copyArchiveToRunning, copyFromRunning, copyToRunning, readFromRunning, type CopyItem } from './copy.js';
import type { Container } from '../runtime/container.js';
import type { ExitStatus } from '../model/container-types.js';
import { followLogs, type LogEntry, type ReadLogsOptions } from '../model/container-logs.js';
import type { ContainerStats, ExecResult } from '../model/container-types.js';
import type { PublishedPort } from '../model/container-types.js';
import type { Attachment } from '../model/container-types.js';

/** What a started container needs underneath: a local Container, or one a keeper holds for reuse. */
export type ContainerHandle = Pick<
  Container,
  'id' | 'name' | 'dir' | 'host' | 'status' | 'port' | 'url' | 'ports' | 'ip' | 'networks' | 'exec' | 'logs' | 'listening' | 'stats' | 'stop' | 'restart' | 'pause' | 'unpause' | 'wait' | 'copyArchiveIn' | 'copyArchiveOut'
> & {
  remove(opts?: { force?: boolean }): Promise<void>;
  /** a directory of the sandbox's where copies are staged */
  readonly stagingDir: string;
};

export interface ExecOptions {
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
}

/** How a start with `initSnapshot` went. */
export interface InitSnapshotOutcome {
  /** the snapshot's key (a digest of the image and of the options that shape initialisation) */
  key: string;
  /** `snapshot`: started from the snapshot, nothing initialised; `initialised`: this start initialised */
  source: 'snapshot' | 'initialised';
  /** for `initialised`: whether a snapshot was kept for later starts */
  kept?: boolean;
  /** why no snapshot was used or kept, when that is worth saying (a corrupt one, a full disk, an unclean stop) */
  reason?: string;
}

export class StartedContainer {
  private readonly follows = new Set<AbortController>();

  /** @internal */
  constructor(
    readonly container: ContainerHandle,
    /** a reused container outlives this handle: remove() lets it be */
    readonly reused = false,
    private readonly cleanup: () => void = () => {},
    /** with `initSnapshot`: whether it started from a snapshot or initialised (and kept one) */
    readonly initSnapshot?: InitSnapshotOutcome,
  ) {}

  get id(): string {
    return this.container.id;
  }

  get name(): string {
    return this.container.name;
  }

  /** The host address published ports listen on. */
  get host(): string {
    return this.container.host;
  }

  /** The host port a container port is published on (Testcontainers' `getMappedPort`). */
  port(containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    return this.container.port(containerPort, protocol);
  }

  /** `http://host:port/path` for a published port. */
  url(containerPort: number, path = '/'): string {
    return this.container.url(containerPort, path);
  }

  ports(): PublishedPort[] {
    return this.container.ports();
  }

  /** The container's address on a network (its first), as other containers reach it. */
  ip(network?: string): string {
    return this.container.ip(network);
  }

  networks(): Attachment[] {
    return this.container.networks();
  }

  /** Runs a command inside: an argv, or a shell command line (`/bin/sh -c`). */
  exec(command: string | string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.container.exec(typeof command === 'string' ? ['/bin/sh', '-c', command] : command, opts);
  }

  /** Output so far, with timestamps. */
  logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return this.container.logs(opts);
  }

  /** Output so far as text, stdout and stderr interleaved as they came. */
  async output(): Promise<string> {
    return (await this.logs()).map((l) => `${l.line}\n`).join('');
  }

  /**
   * Output lines as they come (stdout and stderr, each `line\n`; a reader that falls behind gets
   * several in one chunk), from the start unless
   * `fromStart: false`; ends when the handle is removed, or when the stream is destroyed.
   */
  logStream(opts: { fromStart?: boolean } = {}): Readable {
    const ac = new AbortController();
    this.follows.add(ac);
    const stream = new Readable({ read() {}, destroy: (_e, cb) => (ac.abort(), cb(null)) });
    ac.signal.addEventListener('abort', () => {
      this.follows.delete(ac);
      stream.push(null);
    });
    followLogs(join(this.container.dir, 'log.jsonl'), (e) => stream.push(`${e.line}\n`), ac.signal, opts.fromStart ?? true);
    return stream;
  }

  stats(): Promise<ContainerStats> {
    return this.container.stats();
  }

  /** Stops it (stop signal, SIGKILL after the stop timeout); `restart()` starts it again. */
  stop(opts: { timeout?: number } = {}): Promise<ExitStatus> {
    return this.container.stop(opts);
  }

  async restart(opts: { timeout?: number } = {}): Promise<void> {
    await this.container.restart(opts);
  }

  pause(): Promise<'freezer' | 'sigstop'> {
    return this.container.pause();
  }

  unpause(): Promise<void> {
    return this.container.unpause();
  }

  /** Resolves when its main process exits. */
  wait(): Promise<ExitStatus> {
    return this.container.wait();
  }

  /** Removes it: processes, mounts, data. A reused container stays for the next run (its keeper ends it when idle). */
  async remove(): Promise<void> {
    for (const ac of this.follows) ac.abort();
    if (this.reused) return;
    await this.container.remove({ force: true });
    this.cleanup();
  }

  /** Copies host files, directories or content into the running container (owned by its root unless `mode`…). */
  copyTo(items: CopyItem | CopyItem[]): Promise<void> {
    return copyToRunning(this.container, Array.isArray(items) ? items : [items]);
  }

  /** Unpacks a tar (bytes or a stream) into `targetDir` of the running container. */
  copyArchiveTo(archive: Buffer | Readable, targetDir: string): Promise<void> {
    return copyArchiveToRunning(this.container, archive, targetDir);
  }

  /** A path of the running container (file or directory) as a tar stream. */
  copyFrom(path: string): Promise<Readable> {
    return copyFromRunning(this.container, path);
  }

  /** One file of the running container. */
  readFile(path: string): Promise<Buffer> {
    return readFromRunning(this.container, path);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}
