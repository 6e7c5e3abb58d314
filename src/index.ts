/**
 * mayfly's public API: the harness (container builder, environments, wait strategies), and beneath
 * it the rootless runtime, images, networks and published ports. Vitest and Jest integrations live
 * in `mayfly/vitest` and `mayfly/jest-environment`.
 */
export * from './harness/index.js';
export * as presets from './presets/index.js';
export { MayflyError, isMayflyError, type MayflyErrorCode } from './errors.js';
export { mayflyHome } from './paths.js';
export { Runtime, Container, type ContainerOptions, type ExitStatus, type PullOptions, type RuntimeOptions } from './runtime/runtime.js';
export type { ImageRecord } from './image/store/image-store.js';
export type { BuildOptions, BuildStep } from './image/build/builder.js';
export type { PullProgress } from './image/pull.js';
export type { PublishedPort } from './network/port-forwarder.js';
export { parseReference, familiarName, type ImageReference } from './image/reference.js';
export { parseContainerSpec, parseSize, type ContainerSpec, type ContainerSpecInput, type NetworkMode } from './runtime/spec.js';
export type { LogEntry, ReadLogsOptions } from './runtime/logs.js';
export type { ContainerStats, ExecResult } from './runtime/sandbox/protocol.js';
export { busyboxRootfs } from './fixtures/busybox-rootfs.js';
