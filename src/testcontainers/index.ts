/**
 * `mayfly/testcontainers`: testcontainers-node 11's public API on mayfly's harness. A suite written
 * for Testcontainers changes its import and runs on mayfly's rootless runtime, with mayfly's
 * readiness probing. What mayfly cannot do is refused by name at start(), never dropped.
 */
export { GenericContainer } from './generic-container.js';
export { GenericContainerBuilder, type BuildOptions } from './generic-container-builder.js';
export { StartedGenericContainer } from './started-generic-container.js';
export { StoppedGenericContainer } from './stopped-generic-container.js';
export { AbstractStartedContainer } from './abstract-started-container.js';
export { AbstractStoppedContainer } from './abstract-stopped-container.js';
export type { RestartOptions, StartedTestContainer, StopOptions, StoppedTestContainer, TestContainer } from './test-container.js';
export { Network } from './network.js';
export { StartedNetwork } from './started-network.js';
export { StoppedNetwork } from './stopped-network.js';
export { DockerComposeEnvironment } from './docker-compose-environment.js';
export { StartedDockerComposeEnvironment } from './started-docker-compose-environment.js';
export { StoppedDockerComposeEnvironment } from './stopped-docker-compose-environment.js';
export { DownedDockerComposeEnvironment } from './downed-docker-compose-environment.js';
export { TestContainers } from './test-containers.js';
export { PullPolicy, type ImagePullPolicy } from './pull-policy.js';
export { Wait } from './wait.js';
export { AbstractWaitStrategy, type WaitStrategy } from './wait-strategy.js';
export { CompositeWaitStrategy } from './composite-wait-strategy.js';
export { HealthCheckWaitStrategy } from './health-check-wait-strategy.js';
export { HostPortWaitStrategy } from './host-port-wait-strategy.js';
export { HttpWaitStrategy, type HttpWaitStrategyOptions } from './http-wait-strategy.js';
export { LogWaitStrategy, type Log } from './log-wait-strategy.js';
export { OneShotStartupCheckStrategy } from './one-shot-startup-check-strategy.js';
export { ShellWaitStrategy } from './shell-wait-strategy.js';
export { StartupCheckStrategy, type StartupStatus } from './startup-check-strategy.js';
export { BoundPorts } from './bound-ports.js';
export { getContainerPort, hasHostBinding, type PortWithBinding, type PortWithOptionalBinding } from './port.js';
export { ImageName } from './image-name.js';
export { LABEL_TESTCONTAINERS_SESSION_ID } from './labels.js';
export { RandomUuid, randomUuid, type Uuid } from './uuid.js';
export type {
  ArchiveToCopy, BindMode, BindMount, BuildArgs, CommitOptions, Content, ContentToCopy, CopyToContainerOptions, DirectoryToCopy, Environment, ExecOptions, ExecResult, ExtraHost, FileToCopy, HealthCheck,
  HealthCheckStatus, HostPortBindings, InspectResult, Labels, NetworkSettings, Ports, ResourcesQuota, TmpFs, Ulimits,
} from './types.js';
export { MayflyError, isMayflyError } from '../core/errors.js';
