/**
 * mayfly's own native start library (native/start, built per architecture into dist/native/), bound
 * through koffi: one call per exported C function. Loaded on first use; when it cannot be loaded
 * the reason is kept, and the runtime falls back to the Node shim.
 * MAYFLY_NATIVE_LIBRARY: another build of the library.
 */
import { existsSync } from 'node:fs';
import koffi from 'koffi';
import { distFile } from '../core/paths.js';

/** the version of the calling convention below; the library's mfs_abi_version() must match it */
const ABI_VERSION = 2;

export interface StartLibrary {
  /** decodes a serialized plan without running it: 0, or -EINVAL with the reason in `why` */
  checkPlan(plan: Buffer, len: number, why: Buffer, cap: number): number;
  /** clones and runs the plan (native/start/start.c): the process's pid, or -errno; joinPidns -1 or (exec) a pid namespace descriptor */
  start: {
    (plan: Buffer, len: number, fds: Int32Array, nsFlags: number, joinPidns: number, report: Buffer, pidfd: Int32Array): number | bigint;
    /** the same on a libuv pool thread */
    async(plan: Buffer, len: number, fds: Int32Array, nsFlags: number, joinPidns: number, report: Buffer, pidfd: Int32Array, done: (err: unknown, pid: number | bigint) => void): void;
  };
  /** waitid(P_PIDFD, WNOHANG): 1 exited (code set), 0 running, -errno */
  reap(pidfd: number, code: Int32Array): number;
}

let loaded: { lib: StartLibrary } | { reason: string } | undefined;

/** The library's path for this machine's architecture. */
export function startLibraryPath(): string {
  return process.env.MAYFLY_NATIVE_LIBRARY || distFile(`native/linux-${process.arch}/mayfly-start.so`);
}

function load(): { lib: StartLibrary } | { reason: string } {
  if (!process.env.MAYFLY_NATIVE_LIBRARY && (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64'))) {
    return { reason: `no native start library for ${process.platform}-${process.arch}` };
  }
  const path = startLibraryPath();
  if (!existsSync(path)) return { reason: `${path} is missing (npm run build makes it)` };
  try {
    const so = koffi.load(path);
    const abi = (so.func('int mfs_abi_version()') as () => number)();
    if (abi !== ABI_VERSION) return { reason: `${path} speaks version ${abi}, this mayfly ${ABI_VERSION}: rebuild it` };
    return {
      lib: {
        checkPlan: so.func('int mfs_check_plan(const uint8_t *plan, size_t len, uint8_t *why, size_t cap)'),
        start: so.func('long mfs_start(const uint8_t *plan, size_t len, const int32_t *fds, unsigned long nsFlags, int32_t joinPidns, uint8_t *report, int32_t *pidfd)'),
        reap: so.func('int mfs_reap(int32_t pidfd, int32_t *code)'),
      },
    };
  } catch (e) {
    return { reason: `cannot load ${path}: ${(e as Error).message}` };
  }
}

/** The library, or why it cannot be used here. */
export function startLibrary(): { lib: StartLibrary } | { reason: string } {
  return (loaded ??= load());
}
