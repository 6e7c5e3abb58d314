/**
 * The harness: what a test touches. `container(image)…start()` or `startContainer({...})` gives a
 * started, ready container; `environment()` several on a private network; `network()` a network.
 */
export { container, ContainerBuilder, type NetworkLike } from './container-builder.js';
export { startContainer, type StartOptions } from './start.js';
export { StartedContainer, type ContainerHandle, type ExecOptions, type InitSnapshotOutcome } from './started-container.js';
export { environment, EnvironmentBuilder, StartedEnvironment } from './environment.js';
export { network, StartedNetwork } from './network.js';
export { parseHarnessOptions, type HarnessOptions } from './options.js';
export { sharedRuntime, closeSharedRuntime } from './session.js';
export { stopReusedContainers } from './reuse.js';
export { exposeHostPorts, exposedHostPorts } from './host-ports.js';
export * from './wait/index.js';
export { treeDigest } from './init-snapshot-key.js';
