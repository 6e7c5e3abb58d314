/**
 * The native start path: one call to the library (sys/start-library.ts) clones the container's
 * first process into fresh namespaces on a stack of its own, runs the steps there in C and execs;
 * the calling thread is suspended meanwhile (~1 ms) and resumes knowing whether the program runs.
 * Here: the steps in, the report (which step failed, the call, the errno) out.
 */
import { closeSync } from 'node:fs';
import { errnoName, libcFunction } from '../../sys/libc.js';
import { startLibrary, type StartLibrary } from '../../sys/start-library.js';
import { START_NAMESPACES, type Step } from '../shim/steps.js';
import { encodeSteps } from '../shim/plan-codec.js';

// struct mfs_report (native/start/report.h)
const TIMED_STEPS = 64;
const TIMES_AT = 6 * 4 + 2048;
const REPORT_SIZE = TIMES_AT + 8 + TIMED_STEPS * 8;
const STATE = { NEW: 0, RUNNING: 1, EXEC: 2, FAILED: 3, DONE: 4 } as const;

export interface NativeFailure {
  /** the step's name; `start` when no step ran (the clone itself, or the plan) */
  step: string;
  message: string;
  exitCode: number;
  errno?: string;
}

export type NativeStart =
  /** the program runs (exec'd), or the child failed at a step and is exiting */
  | { made: true; pid: number; pidfd: number; failure?: NativeFailure }
  /** no process was made */
  | { made: false; failure: NativeFailure };

/** Why the native library cannot be used here, or undefined when it can be loaded. */
export function nativeUnavailable(): string | undefined {
  const l = startLibrary();
  return 'reason' in l ? l.reason : undefined;
}

function lib(): StartLibrary {
  const l = startLibrary();
  if ('reason' in l) throw new Error(l.reason);
  return l.lib;
}

function failureOf(report: Buffer, steps: readonly Step[]): NativeFailure {
  const index = report.readInt32LE(4);
  const err = report.readInt32LE(8);
  const exitCode = report.readInt32LE(12);
  const callFailed = report.readInt32LE(16) === 1;
  const end = report.indexOf(0, 24);
  const detail = report.toString('utf8', 24, end < 0 ? report.length : end);
  const errno = err ? (errnoName(err)) : undefined;
  return {
    step: steps[index]?.step ?? 'start',
    message: callFailed && errno ? `${detail} failed: ${errno}` : detail,
    exitCode: exitCode || 125,
    ...(errno ? { errno } : {}),
  };
}

/** Where the process is made: in new namespaces (`nsFlags`, CLONE_NEW*), or (exec) in a running container's pid namespace. */
export type Placement = { nsFlags: number } | { joinPidns: number };

/**
 * Runs `steps` (the last one execs) in a new process placed as `where` says, with `stdio` as its
 * descriptors 0-2 (stdin -1: /dev/null). Returns once the program runs or a step has failed; the
 * calling thread waits meanwhile. The caller owns the pidfd (see PidfdExits).
 */
export function startNative(steps: readonly Step[], stdio: [number, number, number], where: Placement): NativeStart {
  const call = prepare(steps, stdio);
  const [flags, pidns] = placement(where);
  return outcome(Number(lib().start(call.plan, call.plan.length, call.fds, flags, pidns, call.report, call.pidfd)), call, steps);
}

function placement(where: Placement): [number, number] {
  return 'nsFlags' in where ? [where.nsFlags, -1] : [0, where.joinPidns];
}

/**
 * startNative on one of libuv's pool threads: that thread waits for the child's set-up (mounts,
 * pivot_root, execve: milliseconds, more on a busy machine), the event loop does not, and several
 * containers start side by side. The pool threads live as long as the process, which matters: the
 * child's parent-death signal follows the thread that cloned it.
 */
export function startNativeAsync(steps: readonly Step[], stdio: [number, number, number], where: Placement): Promise<NativeStart> {
  const call = prepare(steps, stdio);
  const [flags, pidns] = placement(where);
  return new Promise((resolve, reject) => {
    lib().start.async(call.plan, call.plan.length, call.fds, flags, pidns, call.report, call.pidfd, (err: unknown, pid: number | bigint) => {
      if (err) reject(err);
      // `call` stays referenced until here: the child reads the plan and writes the report meanwhile
      else resolve(outcome(Number(pid), call, steps));
    });
  });
}

interface Call {
  plan: Buffer;
  fds: Int32Array;
  report: Buffer;
  pidfd: Int32Array;
}

function prepare(steps: readonly Step[], stdio: [number, number, number]): Call {
  return { plan: encodeSteps(steps), fds: Int32Array.from(stdio), report: Buffer.alloc(REPORT_SIZE), pidfd: Int32Array.of(-1) };
}

function outcome(pid: number, { report, pidfd }: Call, steps: readonly Step[]): NativeStart {
  if (pid < 0) {
    const f = failureOf(report, steps);
    return { made: false, failure: { ...f, step: 'start', errno: f.errno ?? errnoName(-pid) } };
  }
  if (process.env.MAYFLY_TRACE_START) traceSteps(report, steps);
  const state = report.readInt32LE(0);
  if (state === STATE.EXEC) return { made: true, pid, pidfd: pidfd[0]! };
  // FAILED, or the child died before it got to report (killed from outside)
  const failure = state === STATE.FAILED ? failureOf(report, steps) : { step: 'start', message: `the container's first process ended during its set-up (state ${state})`, exitCode: 125 };
  return { made: true, pid, pidfd: pidfd[0]!, failure };
}

/** MAYFLY_TRACE_START=1: how long each step took, on the sandbox's stderr (shown with MAYFLY_DEBUG=1). */
function traceSteps(report: Buffer, steps: readonly Step[]): void {
  const now = process.hrtime.bigint();
  let at = report.readBigUInt64LE(TIMES_AT);
  const parts: string[] = [];
  for (let i = 0; i < Math.min(steps.length, TIMED_STEPS); i++) {
    const end = report.readBigUInt64LE(TIMES_AT + 8 + i * 8);
    if (!end) break;
    parts.push(`${steps[i]!.step}=${Number(end - at) / 1000}`);
    at = end;
  }
  parts.push(`exec..return=${Number(now - at) / 1000}`);
  process.stderr.write(`mayfly native start (µs): ${parts.join(' ')}\n`);
}

/** What the library's decoder says about a serialized plan: undefined when it accepts it. */
export function checkPlan(plan: Buffer): string | undefined {
  const why = Buffer.alloc(512);
  const r = lib().checkPlan(plan, plan.length, why, why.length);
  return r === 0 ? undefined : why.toString('utf8', 0, Math.max(0, why.indexOf(0)));
}

/** Reaps the process behind `pidfd` if it has exited: its exit code (128+n for signal n), else undefined. */
export function reapPidfd(pidfd: number): number | undefined {
  const code = Int32Array.of(0);
  const r = lib().reap(pidfd, code);
  if (r === 1) return code[0]!;
  if (r === 0) return undefined;
  throw new Error(`waitid on pidfd ${pidfd} failed: ${errnoName(-r)}`);
}

const waitid = libcFunction('int waitid(int idtype, int id, _Out_ int32_t *info, int options)');
const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
/** siginfo_t is 128 bytes; si_pid is at byte 16 on 64-bit Linux (x86-64 and arm64 alike) */
const siginfo = new Int32Array(32);

/**
 * The pid of a child of this process that has exited and waits to be reaped, without reaping it
 * (WNOWAIT: libuv's children stay libuv's); 0 when none is waiting.
 */
export function waitingChild(): number {
  siginfo[4] = 0;
  if (Number(waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT)) !== 0) return 0; // ECHILD: no children at all
  return siginfo[4]!;
}

/**
 * Starts a process with no steps in the start namespaces and reaps it: undefined when that works,
 * else why not (a seccomp policy refusing clone's namespace flags, say).
 */
export function probeNative(): string | undefined {
  try {
    const r = startNative([], [-1, 1, 2], { nsFlags: START_NAMESPACES });
    if (!r.made) return r.failure.message;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 1000; i++) {
      const code = reapPidfd(r.pidfd);
      if (code !== undefined) {
        closeSync(r.pidfd);
        return code === 0 ? undefined : `a probe process exited with ${code}${r.failure?.message && r.failure.step !== 'start' ? `: ${r.failure.message}` : ''}`;
      }
      Atomics.wait(gate, 0, 0, 1);
    }
    return 'a probe process did not end';
  } catch (e) {
    return (e as Error).message;
  }
}
