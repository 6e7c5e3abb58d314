/**
 * The steps of a start, shared by a plain start and one with an initialised-data snapshot: stage the
 * copies, create and start, wait until ready. Each step removes what it made when it fails.
 */
import { join } from 'node:path';
import type { ContainerOptions, Runtime } from '../engine/runtime.js';
import type { Container } from '../runtime/container.js';
import type { ResolvedHarnessOptions } from './options.js';
import { StartedContainer, type ContainerHandle, type InitSnapshotOutcome } from './started-container.js';
import { readinessWait } from './readiness.js';
import { stageForStart } from './copy.js';

/** Called with the container that is handed over, once it runs and before its readiness is awaited. */
export type OnRunning = (c: ContainerHandle) => void | Promise<void>;

/** Copies staged in a directory of the sandbox, bound at their targets at create. */
export interface Staged {
  dir: string;
  binds: { source: string; target: string; readonly: boolean }[];
  cleanup: () => void;
}

export function stageCopies(rt: Runtime, o: ResolvedHarnessOptions): Staged {
  const dir = join(rt.info.runDir, 'staging');
  return { dir, ...stageForStart(dir, o.copies) };
}

/** Creates and starts (readiness not awaited); a container that fails to start is removed. */
export async function createAndStart(rt: Runtime, options: ContainerOptions, staged: Staged): Promise<Container> {
  const c = await rt.create({ ...options, binds: [...(options.binds ?? []), ...staged.binds] });
  try {
    await c.start();
  } catch (e) {
    await c.remove({ force: true }).catch(() => {});
    throw e;
  }
  return c;
}

/** Waits until the container is ready and hands it over; one that never gets ready is removed. */
export async function untilReady(
  rt: Runtime,
  c: Container,
  o: ResolvedHarnessOptions,
  staged: Staged,
  signal?: AbortSignal,
  extra: { cleanup?: () => Promise<void>; initSnapshot?: InitSnapshotOutcome; initialise?: boolean; onRunning?: OnRunning } = {},
): Promise<StartedContainer> {
  try {
    await extra.onRunning?.(Object.assign(c, { stagingDir: staged.dir }));
    await waitReady(rt, c, o, signal);
    // a start that initialised (no snapshot used or kept) runs the caller's initialisation step too
    if (extra.initialise) await runInitialise(c, o, staged);
  } catch (e) {
    await c.remove({ force: true }).catch(() => {});
    await extra.cleanup?.().catch(() => {});
    throw e;
  }
  const cleanup = () => {
    staged.cleanup();
    void extra.cleanup?.().catch(() => {});
  };
  return new StartedContainer(Object.assign(c, { stagingDir: staged.dir }), false, cleanup, extra.initSnapshot);
}

/** The readiness wait alone (the container is left as it is when it fails). */
export async function waitReady(rt: Runtime, c: Container, o: ResolvedHarnessOptions, signal?: AbortSignal): Promise<void> {
  // TCP only: whether a UDP service is up cannot be seen from its listening sockets' state
  const ports = [...new Set([...c.spec.ports.filter((p) => p.protocol === 'tcp').map((p) => p.containerPort), ...(c.spec.publishAll ? c.spec.exposedPorts : [])])];
  await readinessWait(c, ports, o, imageHealthcheck(rt, c), signal);
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

/** The caller's `initSnapshot.initialise` step, on a container that initialised and is ready. */
export async function runInitialise(c: Container, o: ResolvedHarnessOptions, staged: Staged): Promise<void> {
  const initialise = o.initSnapshot?.initialise;
  if (initialise) await initialise(new StartedContainer(Object.assign(c, { stagingDir: staged.dir })));
}
