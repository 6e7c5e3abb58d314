/**
 * mayfly's public API: the harness (container builder, environments, wait strategies), and beneath
 * it the rootless runtime, images, networks and published ports. Vitest and Jest integrations live
 * in `mayfly/vitest` and `mayfly/jest-environment`.
 */
export * from './harness/index.js';
export * as presets from './presets/index.js';
export { MayflyError, isMayflyError, type MayflyErrorCode } from './core/errors.js';
export { mayflyHome } from './core/paths.js';
export { Runtime, Container, type ContainerOptions, type PullOptions, type RuntimeOptions } from './engine/runtime.js';
export { type ExitStatus } from './model/container-types.js';
export type { ImageRecord } from './image/store/image-store.js';
export type { BuildOptions, BuildStep } from './dockerfile/builder.js';
export type { PullProgress } from './image/progress.js';
export type { PublishedPort } from './model/container-types.js';
export { parseReference, familiarName, type ImageReference } from './image/reference.js';
export { parseContainerSpec, parseSize, type ContainerSpec, type ContainerSpecInput, type NetworkMode } from './model/container-spec.js';
export type { LogEntry, ReadLogsOptions } from './model/container-logs.js';
export type { ContainerStats, ExecResult } from './model/container-types.js';
export { busyboxRootfs } from './runtime/busybox-rootfs.js';
