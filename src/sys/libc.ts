/**
 * libc through koffi, for the few Linux calls Node has no API for. Every C function is bound once,
 * here, by its prototype (`libcFunction`), whichever module of sys/ uses it; the modules beside this
 * one are split by job: mounts, namespaces, process set-up, poll, sockets, locks, xattrs, pipes.
 * Namespace and mount calls are made only inside mayfly's user namespace (sandbox, shim); owners use
 * nothing of sys/ but flock.
 */
import koffi from 'koffi';
import { constants } from 'node:os';

const libc = koffi.load('libc.so.6');
type LibcFunction = ReturnType<typeof libc.func>;
const bound = new Map<string, LibcFunction>();

/** The koffi function for a C prototype, bound on first use and shared by every caller. */
export function libcFunction(prototype: string): LibcFunction {
  let f = bound.get(prototype);
  if (!f) bound.set(prototype, (f = libc.func(prototype)));
  return f;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num, name]));

/** 'ENOENT' for 2, and so on. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly args: string,
  ) {
    super(`${call}(${args}) failed: ${errnoName(errno)}`);
    this.name = 'SyscallError';
  }
  get errnoName(): string {
    return errnoNames.get(this.errno) ?? String(this.errno);
  }
}

/** The call's result, or a SyscallError naming the call, its arguments and errno when it failed. */
export function check(call: string, ret: number | bigint, args: () => string): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(call, koffi.errno(), args());
  return n;
}

/** The result, or -errno: for hot paths (poll loops) where a failure is an expected outcome. */
export function negErrno(ret: number | bigint): number {
  return Number(ret) < 0 ? -koffi.errno() : Number(ret);
}

export function lastErrno(): number {
  return koffi.errno();
}

export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

const close = libcFunction('int close(int fd)');
export function closeFd(fd: number): void {
  close(fd);
}

/** fcntl with an int argument (or none): the one binding of the variadic call. */
export const fcntl = libcFunction('int fcntl(int fd, int cmd, int arg)');

const socketCall = libcFunction('int socket(int domain, int type, int protocol)');
export function socket(domain: number, type: number, what: string): number {
  return check('socket', socketCall(domain, type, 0), () => what);
}
