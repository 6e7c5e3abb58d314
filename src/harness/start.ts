/**
 * Start one container and wait until it is ready: validate everything first, pull if needed, start,
 * then wait by the chosen strategy. On any failure the container is removed before the error (with
 * its last log lines) reaches the test.
 */
import type { Runtime } from '../runtime/runtime.js';
import type { Container } from '../runtime/container.js';
import { parseHarnessOptions, toContainerOptions, type HarnessOptions, type ResolvedHarnessOptions } from './options.js';
import { sharedRuntime } from './session.js';
import { StartedContainer } from './started-container.js';
import { readinessWait } from './readiness.js';
import { stageForStart } from './copy.js';
import { join } from 'node:path';
import { startReused } from './reuse.js';

export interface StartOptions {
  /** the runtime to start it in; default the process's shared one */
  runtime?: Runtime;
  /** cancels the start (the container is removed) */
  signal?: AbortSignal;
}

export async function startContainer(input: HarnessOptions, opts: StartOptions = {}): Promise<StartedContainer> {
  const o = parseHarnessOptions(input);
  if (o.reuse) return startReused(o, opts.signal);
  const rt = opts.runtime ?? (await sharedRuntime());
  const stagingDir = join(rt.info.runDir, 'staging');
  const staged = stageForStart(stagingDir, o.copies);
  let c: Container;
  try {
    const options = toContainerOptions(o);
    c = await rt.create({ ...options, binds: [...(options.binds ?? []), ...staged.binds] });
  } catch (e) {
    staged.cleanup();
    throw e;
  }
  try {
    await c.start();
    // TCP only: whether a UDP service is up cannot be seen from its listening sockets' state
    const ports = [...new Set([...c.spec.ports.filter((p) => p.protocol === 'tcp').map((p) => p.containerPort), ...(c.spec.publishAll ? c.spec.exposedPorts : [])])];
    await readinessWait(c, ports, o, imageHealthcheck(rt, c), opts.signal);
  } catch (e) {
    await c.remove({ force: true }).catch(() => {});
    staged.cleanup();
    throw e;
  }
  return new StartedContainer(Object.assign(c, { stagingDir }), false, staged.cleanup);
}

function imageHealthcheck(rt: Runtime, c: Container) {
  const id = c.spec.labels['mayfly.image.id'];
  if (!id) return undefined;
  try {
    return rt.inspect(id).config.config?.Healthcheck;
  } catch {
    return undefined;
  }
}
