/**
 * The container interfaces of testcontainers-node 11: a container to be started (TestContainer),
 * a started one, a stopped one. GenericContainer and its started and stopped forms implement them
 * on mayfly's harness.
 */
import type { Readable } from 'node:stream';
import type { StartedNetwork } from './started-network.js';
import type { PortWithOptionalBinding } from './port.js';
import type { ImagePullPolicy } from './pull-policy.js';
import type {
  ArchiveToCopy, BindMount, CommitOptions, ContentToCopy, CopyToContainerOptions, DirectoryToCopy, Environment, ExecOptions, ExecResult, ExtraHost, FileToCopy, Labels, ResourcesQuota, TmpFs, Ulimits,
} from './types.js';
import type { WaitStrategy } from './wait-strategy.js';

export interface TestContainer {
  start(): Promise<StartedTestContainer>;
  withEnvironment(environment: Environment): this;
  withCommand(command: string[]): this;
  withEntrypoint(entrypoint: string[]): this;
  withTmpFs(tmpFs: TmpFs): this;
  withUlimits(ulimits: Ulimits): this;
  withSecurityOpt(...securityOptions: string[]): this;
  withAddedCapabilities(...capabilities: string[]): this;
  withDroppedCapabilities(...capabilities: string[]): this;
  withExposedPorts(...ports: PortWithOptionalBinding[]): this;
  withBindMounts(bindMounts: BindMount[]): this;
  withWaitStrategy(waitStrategy: WaitStrategy): this;
  withStartupTimeout(startupTimeoutMs: number): this;
  withNetwork(network: StartedNetwork): this;
  withNetworkMode(networkMode: string): this;
  withExtraHosts(extraHosts: ExtraHost[]): this;
  withDefaultLogDriver(): this;
  withPrivilegedMode(): this;
  withPlatform(platform: string): this;
  withUser(user: string): this;
  withPullPolicy(pullPolicy: ImagePullPolicy): this;
  withReuse(): this;
  withAutoCleanup(autoCleanup: boolean): this;
  withAutoRemove(autoRemove: boolean): this;
  withCopyFilesToContainer(filesToCopy: FileToCopy[]): this;
  withCopyDirectoriesToContainer(directoriesToCopy: DirectoryToCopy[]): this;
  withCopyContentToContainer(contentsToCopy: ContentToCopy[]): this;
  withCopyArchivesToContainer(archivesToCopy: ArchiveToCopy[]): this;
  withCopyToContainerOptions(copyToContainerOptions: CopyToContainerOptions): this;
  withWorkingDir(workingDir: string): this;
  withResourcesQuota(resourcesQuota: ResourcesQuota): this;
  withSharedMemorySize(bytes: number): this;
  withLogConsumer(logConsumer: (stream: Readable) => unknown): this;
  withHostname(hostname: string): this;
}

/** `timeout`: milliseconds before SIGKILL, rounded down to whole seconds as Docker takes them (default 0: at once) */
export interface RestartOptions {
  timeout: number;
}

export interface StopOptions {
  /** ms before SIGKILL (default 0: at once) */
  timeout: number;
  /** remove it too (default: unless withAutoRemove(false)) */
  remove: boolean;
  removeVolumes: boolean;
}

export interface StartedTestContainer extends AsyncDisposable {
  stop(options?: Partial<StopOptions>): Promise<StoppedTestContainer>;
  restart(options?: Partial<RestartOptions>): Promise<void>;
  commit(options: CommitOptions): Promise<string>;
  getHost(): string;
  getHostname(): string;
  getFirstMappedPort(): number;
  getMappedPort(port: number, protocol?: string): number;
  getMappedPort(portWithProtocol: `${number}/${'tcp' | 'udp'}`): number;
  getName(): string;
  getLabels(): Labels;
  getId(): string;
  getNetworkNames(): string[];
  getNetworkId(networkName: string): string;
  getIpAddress(networkName: string): string;
  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream>;
  copyArchiveToContainer(tar: Readable, target?: string, options?: CopyToContainerOptions): Promise<void>;
  copyDirectoriesToContainer(directoriesToCopy: DirectoryToCopy[]): Promise<void>;
  copyFilesToContainer(filesToCopy: FileToCopy[]): Promise<void>;
  copyContentToContainer(contentsToCopy: ContentToCopy[]): Promise<void>;
  exec(command: string | string[], opts?: Partial<ExecOptions>): Promise<ExecResult>;
  logs(opts?: { since?: number; tail?: number }): Promise<Readable>;
}

export interface StoppedTestContainer {
  getId(): string;
  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream>;
}
