/**
 * The Node shim (the fallback start path, and exec's): the first process inside a container's
 * namespaces. The sandbox starts it ahead of time (so Node's start-up is off the critical path),
 * hands it the steps over the IPC channel, and the shim runs them, the last one being execve. The
 * channel is close-on-exec: when it closes without a `failed` message, the program is running.
 */
import { readlinkSync } from 'node:fs';
import type { SyscallError } from '../../sys/libc.js';
import { EXIT, SHIM_CHANNEL_FD, type ShimMessage } from './plan.js';
import type { ShimPlan } from './steps.js';
import { ExecFailure, runSteps, StepError, warmUp } from './run-steps.js';

function send(msg: ShimMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function run(plan: ShimPlan): Promise<never> {
  try {
    await runSteps(plan.steps, () => send({ type: 'exec' }));
    throw new Error('the steps ended without exec');
  } catch (e) {
    const failure: ShimMessage =
      e instanceof ExecFailure
        ? { type: 'failed', step: e.step, message: e.message, exitCode: e.exitCode }
        : e instanceof StepError
          ? {
              type: 'failed',
              step: e.step,
              message: (e.cause as Error)?.message ?? String(e.cause),
              exitCode: EXIT.RUNTIME,
              ...((e.cause as SyscallError)?.errnoName ? { errno: (e.cause as SyscallError).errnoName } : {}),
            }
          : { type: 'failed', step: 'shim', message: String((e as Error)?.stack ?? e), exitCode: EXIT.RUNTIME };
    await send(failure);
    process.exit(failure.exitCode);
  }
}

// A pooled shim waits long before it is used: run the pure parts of the start sequence once now,
// so that V8's first-run compilation is not paid during the container's start.
warmUp();
process.once('message', (plan: ShimPlan) => {
  void run(plan);
});
process.on('disconnect', () => process.exit(EXIT.RUNTIME));
// The parent `unshare` holds a copy of the channel too, so its closing cannot signal a successful
// execve; the socket leaving our fd table can.
void send({ type: 'ready', channel: readlinkSync(`/proc/self/fd/${SHIM_CHANNEL_FD}`) });
