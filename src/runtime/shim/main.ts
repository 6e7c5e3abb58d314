/**
 * The shim: the first process inside a container's namespaces. The sandbox starts it ahead of time
 * (so Node's start-up is off the critical path), hands it a plan over the IPC channel, and the shim
 * sets the container up and execve()s its program. The channel is close-on-exec: when it closes
 * without a `failed` message, the program is running.
 */
import { openSync, readFileSync, readlinkSync } from 'node:fs';
import * as sys from '../syscalls.js';
import { EXIT, SHIM_CHANNEL_FD, type JoinPlan, type ShimMessage, type ShimPlan } from './plan.js';
import { execProcess, ExecFailure, warmUp } from './process-setup.js';
import { enterContainer, joinCgroups, step, StepError } from './start-sequence.js';

function send(msg: ShimMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

/** exec: enter a running container's namespaces; the pid namespace was joined by nsenter already. */
function joinContainer(plan: JoinPlan): void {
  step('join cgroups', () => joinCgroups(plan.cgroupProcs));
  const ns = (name: string) => openSync(`/proc/${plan.targetPid}/ns/${name}`, 'r');
  const fds = { ipc: ns('ipc'), uts: ns('uts'), net: plan.joinNetwork ? ns('net') : -1, mnt: ns('mnt') };
  step('join namespaces', () => {
    sys.setns(fds.ipc, sys.CLONE.NEWIPC);
    sys.setns(fds.uts, sys.CLONE.NEWUTS);
    if (fds.net >= 0) sys.setns(fds.net, sys.CLONE.NEWNET);
    // setns into a mount namespace needs a filesystem context of our own; Node's threads share one.
    sys.unshare(sys.CLONE.FS);
    sys.setns(fds.mnt, sys.CLONE.NEWNS);
  });
}

const announceExec = () => send({ type: 'exec' });

async function run(plan: ShimPlan): Promise<never> {
  try {
    if (plan.kind === 'start') {
      enterContainer(plan);
      const argv = plan.init ? ['/dev/init', '--', ...plan.argv] : plan.argv;
      return await execProcess(plan, { HOSTNAME: plan.hostname }, argv, announceExec);
    }
    joinContainer(plan);
    const hostname = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    return await execProcess(plan, { HOSTNAME: hostname }, plan.argv, announceExec);
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
              ...((e.cause as sys.SyscallError)?.errnoName ? { errno: (e.cause as sys.SyscallError).errnoName } : {}),
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
