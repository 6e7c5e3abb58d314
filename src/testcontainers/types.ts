/**
 * The value types of testcontainers-node 11's public API, with its names and shapes, so that code
 * written against them compiles unchanged against `mayfly/testcontainers`.
 */
import type { Readable } from 'node:stream';

export type Environment = { [key in string]: string };

/** `z`/`Z` ask Docker to relabel for SELinux; they mean `rw` here (no SELinux labels to set) */
export type BindMode = 'rw' | 'ro' | 'z' | 'Z';

export type BindMount = { source: string; target: string; mode?: BindMode };

export type FileToCopy = { source: string; target: string; mode?: number };

export type DirectoryToCopy = FileToCopy;

export type Content = string | Buffer | Readable;

export type ContentToCopy = { content: Content; target: string; mode?: number };

/** Options of Docker's archive upload; see StartedTestContainer.copyArchiveToContainer. */
export type CopyToContainerOptions = {
  /** refuse to replace a directory with a non-directory, or the other way round */
  noOverwriteDirNonDir?: boolean;
  /** keep the archive entries' owners instead of the container's root */
  copyUIDGID?: boolean;
};

export type ArchiveToCopy = { tar: Readable; target: string };

/** `{ '/data': 'rw,noexec,size=64m' }` */
export type TmpFs = { [dir in string]: string };

export type Ulimits = { [name: string]: { hard: number | undefined; soft: number | undefined } };

/** memory in GB, cpu in cores */
export type ResourcesQuota = { memory?: number; cpu?: number };

/** durations in milliseconds */
export type HealthCheck = {
  test: ['CMD-SHELL', string] | ['CMD', ...string[]];
  interval?: number;
  timeout?: number;
  retries?: number;
  startPeriod?: number;
};

export type ExtraHost = { host: string; ipAddress: string };

export type Labels = { [key: string]: string };

export type HostPortBindings = Array<{ hostIp: string; hostPort: number }>;

/** `{ '8080/tcp': [{ hostIp: '127.0.0.1', hostPort: 41234 }] }` */
export type Ports = { [containerPortWithProtocol: string]: HostPortBindings };

export type BuildArgs = { [key in string]: string };

export type ExecOptions = { workingDir: string; user: string; env: Environment };

export type ExecResult = { output: string; stdout: string; stderr: string; exitCode: number };

/**
 * `commit()`: the container's changes as an image named `repo:tag`. `changes` are Dockerfile
 * instructions applied to its configuration (`ENV A=1`, `CMD …`, `LABEL …`, …).
 */
export type CommitOptions = {
  repo: string;
  tag: string;
  comment?: string;
  author?: string;
  pause?: boolean;
  deleteOnExit?: boolean;
  changes?: string[];
};

export type HealthCheckStatus = 'none' | 'starting' | 'unhealthy' | 'healthy';

/** `timeout` (ms) is accepted: compose containers are removed at once, as Testcontainers' default 0 does */
export type ComposeDownOptions = { timeout: number; removeVolumes: boolean };

export type NetworkSettings = { networkId: string; ipAddress: string };

/** What the hooks of a GenericContainer subclass are told about the container. */
export type InspectResult = {
  name: string;
  hostname: string;
  ports: Ports;
  healthCheckStatus: HealthCheckStatus;
  networkSettings: { [networkName: string]: NetworkSettings };
  state: { status: string; running: boolean; startedAt: Date; finishedAt: Date | undefined };
  labels: Labels;
};

export type RegistryConfig = { [registryAddress: string]: { username?: string; password?: string; auth?: string; email?: string; registryAddress?: string } };
