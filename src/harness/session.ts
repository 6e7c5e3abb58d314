/**
 * One runtime per process, started on first use and shared by every container the harness starts
 * there. Its sandbox is the home's shared one (one for all of a run's workers) unless
 * MAYFLY_SHARED_SANDBOX=0. Nothing to close: this process's containers are removed when it ends,
 * however it ends (its connection or IPC channel closes), so a crashed or killed test worker
 * leaves nothing.
 */
import { Runtime, type RuntimeOptions } from '../engine/runtime.js';
import { sharedByDefault } from '../runtime/shared-sandbox.js';

let shared: Promise<Runtime> | undefined;

export function sharedRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  shared ??= Runtime.start({
    onWarning: (m) => process.emitWarning(m, { code: 'MAYFLY' }),
    shared: sharedByDefault(true),
    ...opts,
  }).catch((e: unknown) => {
    shared = undefined; // let the next call try again (and report again)
    throw e;
  });
  return shared;
}

/** Removes every container of this process now (the end of a run, a globalSetup's teardown). */
export async function closeSharedRuntime(): Promise<void> {
  const rt = shared;
  shared = undefined;
  if (rt) await (await rt).close();
}
