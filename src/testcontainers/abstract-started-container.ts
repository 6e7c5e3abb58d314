/** The base of a module's started container (StartedPostgreSqlContainer …): every verb passed on to the started container it wraps. */
import type { Readable } from 'node:stream';
import type { RestartOptions, StartedTestContainer, StopOptions, StoppedTestContainer } from './test-container.js';
import type { CommitOptions, ContentToCopy, CopyToContainerOptions, DirectoryToCopy, ExecOptions, ExecResult, FileToCopy, Labels } from './types.js';

export class AbstractStartedContainer implements StartedTestContainer {
  constructor(protected readonly startedTestContainer: StartedTestContainer) {}

  protected containerStopping?(): Promise<void>;
  protected containerStopped?(): Promise<void>;

  async stop(options?: Partial<StopOptions>): Promise<StoppedTestContainer> {
    await this.containerStopping?.();
    const stopped = await this.startedTestContainer.stop(options);
    await this.containerStopped?.();
    return stopped;
  }

  restart(options?: Partial<RestartOptions>): Promise<void> {
    return this.startedTestContainer.restart(options);
  }

  commit(options: CommitOptions): Promise<string> {
    return this.startedTestContainer.commit(options);
  }

  getHost(): string {
    return this.startedTestContainer.getHost();
  }

  getHostname(): string {
    return this.startedTestContainer.getHostname();
  }

  getFirstMappedPort(): number {
    return this.startedTestContainer.getFirstMappedPort();
  }

  getMappedPort(port: number, protocol?: string): number;
  getMappedPort(portWithProtocol: `${number}/${'tcp' | 'udp'}`): number;
  getMappedPort(port: number | string, protocol?: string): number {
    return typeof port === 'number' ? this.startedTestContainer.getMappedPort(port, protocol) : this.startedTestContainer.getMappedPort(port as `${number}/tcp`);
  }

  getName(): string {
    return this.startedTestContainer.getName();
  }

  getLabels(): Labels {
    return this.startedTestContainer.getLabels();
  }

  getId(): string {
    return this.startedTestContainer.getId();
  }

  getNetworkNames(): string[] {
    return this.startedTestContainer.getNetworkNames();
  }

  getNetworkId(networkName: string): string {
    return this.startedTestContainer.getNetworkId(networkName);
  }

  getIpAddress(networkName: string): string {
    return this.startedTestContainer.getIpAddress(networkName);
  }

  copyFilesToContainer(filesToCopy: FileToCopy[]): Promise<void> {
    return this.startedTestContainer.copyFilesToContainer(filesToCopy);
  }

  copyDirectoriesToContainer(directoriesToCopy: DirectoryToCopy[]): Promise<void> {
    return this.startedTestContainer.copyDirectoriesToContainer(directoriesToCopy);
  }

  copyContentToContainer(contentsToCopy: ContentToCopy[]): Promise<void> {
    return this.startedTestContainer.copyContentToContainer(contentsToCopy);
  }

  copyArchiveToContainer(tar: Readable, target?: string, options?: CopyToContainerOptions): Promise<void> {
    return this.startedTestContainer.copyArchiveToContainer(tar, target, options);
  }

  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream> {
    return this.startedTestContainer.copyArchiveFromContainer(path);
  }

  exec(command: string | string[], opts?: Partial<ExecOptions>): Promise<ExecResult> {
    return this.startedTestContainer.exec(command, opts);
  }

  logs(opts?: { since?: number; tail?: number }): Promise<Readable> {
    return this.startedTestContainer.logs(opts);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
