/**
 * A container GenericContainer started and found ready: Testcontainers' StartedTestContainer on
 * the harness's started container. `stop()` removes it unless told (or built) otherwise.
 */
import type { Readable } from 'node:stream';
import { MayflyError } from '../core/errors.js';
import { sharedRuntime } from '../harness/session.js';
import type { StartedContainer } from '../harness/started-container.js';
import { Container } from '../runtime/container.js';
import { BoundPorts } from './bound-ports.js';
import { configChanges } from './commit-changes.js';
import { hostnameOf, labelsOf, networkIdOf } from './container-facts.js';
import { contentItems, fileItems } from './copies.js';
import { containerLogStream } from './log-stream.js';
import type { PortWithOptionalBinding } from './port.js';
import { StoppedGenericContainer } from './stopped-generic-container.js';
import type { RestartOptions, StartedTestContainer, StopOptions, StoppedTestContainer } from './test-container.js';
import type { CommitOptions, ContentToCopy, CopyToContainerOptions, DirectoryToCopy, ExecOptions, ExecResult, FileToCopy, Labels } from './types.js';
import { runWaitStrategy, type ReadinessContext, type WaitStrategy } from './wait-strategy.js';

export interface StartedGenericContainerOptions {
  boundPorts: BoundPorts;
  /** the ports withExposedPorts asked for: those a restart publishes again */
  asked: PortWithOptionalBinding[];
  waitStrategy: WaitStrategy;
  /** stop() removes it unless told otherwise */
  autoRemove: boolean;
  readiness: ReadinessContext;
  startedAt: Date;
  /** what getName() says; default Docker's `/name` */
  name?: string;
}

export class StartedGenericContainer implements StartedTestContainer {
  private stopped?: Promise<StoppedTestContainer>;

  /** @internal */
  constructor(
    /** mayfly's own handle of it (`url()`, `readFile()`, `stats()`, `pause()` …) */
    readonly mayfly: StartedContainer,
    private readonly o: StartedGenericContainerOptions,
  ) {}

  protected containerIsStopping?(): Promise<void>;
  protected containerIsStopped?(): Promise<void>;

  /** Stops it (SIGKILL after `timeout` ms, default at once) and removes it unless `remove: false`; once only. */
  stop(options: Partial<StopOptions> = {}): Promise<StoppedTestContainer> {
    this.stopped ??= this.stopContainer(options);
    return this.stopped;
  }

  private async stopContainer(options: Partial<StopOptions>): Promise<StoppedTestContainer> {
    await this.containerIsStopping?.();
    const o = { remove: this.o.autoRemove, timeout: 0, removeVolumes: true, ...options };
    await this.mayfly.stop({ timeout: Math.trunc(o.timeout / 1000) });
    if (o.remove) await this.mayfly.remove();
    await this.containerIsStopped?.();
    return new StoppedGenericContainer(this.mayfly, o.remove);
  }

  /** Stops and starts it again (new host ports), then waits by its strategy for output since the restart. */
  async restart(options: Partial<RestartOptions> = {}): Promise<void> {
    await this.mayfly.stop({ timeout: Math.trunc((options.timeout ?? 0) / 1000) });
    const startTime = new Date();
    await this.mayfly.restart({ timeout: 0 });
    for (const [key, hostPort] of BoundPorts.fromPublished(this.mayfly.ports(), this.o.asked).filter(this.o.asked).iterator()) this.o.boundPorts.setBinding(key, hostPort);
    await runWaitStrategy(this.mayfly.container, this.o.waitStrategy, { ...this.o.readiness, boundPorts: this.o.boundPorts, startTime });
  }

  /** Its changes as an image named `repo:tag` (paused meanwhile unless `pause: false`); resolves to the image ID. */
  async commit(options: CommitOptions): Promise<string> {
    const c = this.mayfly.container;
    if (!(c instanceof Container)) {
      throw new MayflyError('UNSUPPORTED', `commit: ${c.name} is held by mayfly's keeper (a reused or compose container); only a container of this process can be committed`);
    }
    const changes = configChanges(options.changes ?? [], c.spec);
    const rt = await sharedRuntime();
    const pause = options.pause !== false && c.status === 'running';
    if (pause) await this.mayfly.pause();
    try {
      return (await rt.commit(c, `${options.repo}:${options.tag}`, changes)).id;
    } finally {
      if (pause) await this.mayfly.unpause();
    }
  }

  getHost(): string {
    return this.mayfly.host;
  }

  getHostname(): string {
    return hostnameOf(this.mayfly.container);
  }

  getFirstMappedPort(): number {
    return this.o.boundPorts.getFirstBinding();
  }

  getMappedPort(port: number, protocol?: string): number;
  getMappedPort(portWithProtocol: `${number}/${'tcp' | 'udp'}`): number;
  getMappedPort(port: number | string, protocol = 'tcp'): number {
    return this.o.boundPorts.getBinding(port, protocol);
  }

  getName(): string {
    return this.o.name ?? `/${this.mayfly.name}`;
  }

  getLabels(): Labels {
    return labelsOf(this.mayfly.container);
  }

  getId(): string {
    return this.mayfly.id;
  }

  getNetworkNames(): string[] {
    return this.mayfly.networks().map((n) => n.network);
  }

  getNetworkId(networkName: string): string {
    const id = this.getNetworkNames().includes(networkName) ? networkIdOf(networkName) : undefined;
    if (!id) throw new MayflyError('NETWORK_NOT_FOUND', `${this.getName()} is not on network ${networkName} (it is on: ${this.getNetworkNames().join(', ') || 'none'})`);
    return id;
  }

  getIpAddress(networkName: string): string {
    return this.mayfly.ip(networkName);
  }

  async copyFilesToContainer(filesToCopy: FileToCopy[]): Promise<void> {
    await this.mayfly.copyTo(fileItems(filesToCopy));
  }

  async copyDirectoriesToContainer(directoriesToCopy: DirectoryToCopy[]): Promise<void> {
    await this.mayfly.copyTo(fileItems(directoriesToCopy));
  }

  async copyContentToContainer(contentsToCopy: ContentToCopy[]): Promise<void> {
    await this.mayfly.copyTo(await contentItems(contentsToCopy));
  }

  /** Unpacks a tar into `target` (default `/`); its files belong to the container's root. */
  async copyArchiveToContainer(tar: Readable, target = '/', options: CopyToContainerOptions = {}): Promise<void> {
    if (options.copyUIDGID || options.noOverwriteDirNonDir) {
      throw new MayflyError('UNSUPPORTED', `copyArchiveToContainer: ${options.copyUIDGID ? 'copyUIDGID (mayfly gives copied files to the container\'s root)' : 'noOverwriteDirNonDir (mayfly unpacks over whatever is there)'} is not supported`);
    }
    await this.mayfly.copyArchiveTo(tar, target);
  }

  /** `path` (a file or directory) as a tar stream, its last path component at the top. */
  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream> {
    return this.mayfly.copyFrom(path);
  }

  /** A string command is split on spaces (no shell), as Testcontainers does: `['sh', '-c', '…']` for a shell. */
  async exec(command: string | string[], opts: Partial<ExecOptions> = {}): Promise<ExecResult> {
    const argv = Array.isArray(command) ? command : command.split(' ');
    const r = await this.mayfly.container.exec(argv, opts);
    return { output: r.output ?? r.stdout + r.stderr, stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  /** Its output (stdout and stderr as they came) as a stream of text that follows it until it stops. */
  logs(opts: { since?: number; tail?: number } = {}): Promise<Readable> {
    return containerLogStream(this.mayfly.container, opts);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
