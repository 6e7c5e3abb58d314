/**
 * Start one container and wait until it is ready: validate everything first, pull if needed, start,
 * then wait by the chosen strategy. On any failure the container is removed before the error (with
 * its last log lines) reaches the test.
 */
import type { Runtime } from '../engine/runtime.js';
import { parseHarnessOptions, toContainerOptions, type HarnessOptions } from './options.js';
import { sharedRuntime } from './session.js';
import type { StartedContainer } from './started-container.js';
import type { OnRunning } from './launch.js';
import { startReused } from './reuse.js';
import { startWithInitSnapshot } from './init-snapshot.js';
import { createAndStart, stageCopies, untilReady } from './launch.js';
import { exposedHostPorts } from './host-ports.js';

export interface StartOptions {
  /** the runtime to start it in; default the process's shared one */
  runtime?: Runtime;
  /** cancels the start (the container is removed) */
  signal?: AbortSignal;
  /** called once the container that is handed over runs, before its readiness is awaited (a log consumer, a subclass's hook) */
  onRunning?: OnRunning;
}

export async function startContainer(input: HarnessOptions, opts: StartOptions = {}): Promise<StartedContainer> {
  const o = parseHarnessOptions(input);
  // ports exposed for the whole process join the container's own (and so its reuse key)
  o.exposedHostPorts = [...new Set([...o.exposedHostPorts, ...exposedHostPorts()])];
  if (o.reuse) return startReused(o, opts.signal, opts.onRunning);
  const rt = opts.runtime ?? (await sharedRuntime());
  const staged = stageCopies(rt, o);
  try {
    if (o.initSnapshot?.enabled) return await startWithInitSnapshot(rt, o, staged, opts.signal, opts.onRunning);
    const c = await createAndStart(rt, toContainerOptions(o), staged);
    return await untilReady(rt, c, o, staged, opts.signal, { initialise: true, ...(opts.onRunning ? { onRunning: opts.onRunning } : {}) });
  } catch (e) {
    staged.cleanup();
    throw e;
  }
}

