/**
 * One runtime (one sandbox) per process, started on first use and shared by every container the
 * harness starts there. Nothing to close: the sandbox removes everything when this process ends,
 * however it ends (its IPC channel closes), so a crashed or killed test worker leaves nothing.
 */
import { Runtime, type RuntimeOptions } from '../engine/runtime.js';

let shared: Promise<Runtime> | undefined;

export function sharedRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  shared ??= Runtime.start({
    onWarning: (m) => process.emitWarning(m, { code: 'MAYFLY' }),
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
