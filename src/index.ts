/**
 * mayfly's public API. Today: the rootless runtime. The harness (builders, wait strategies,
 * Vitest and Jest integrations) and presets build on these exports.
 */
export { MayflyError, isMayflyError, type MayflyErrorCode } from './errors.js';
export { mayflyHome } from './paths.js';
export { Runtime, Container, type ExitStatus, type RuntimeOptions } from './runtime/runtime.js';
export { parseContainerSpec, parseSize, type ContainerSpec, type ContainerSpecInput, type NetworkMode } from './runtime/spec.js';
export type { LogEntry, ReadLogsOptions } from './runtime/logs.js';
export type { ContainerStats, ExecResult } from './runtime/sandbox/protocol.js';
export { busyboxRootfs } from './fixtures/busybox-rootfs.js';
