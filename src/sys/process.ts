/**
 * The calling process's last set-up before execve: capabilities, credentials, parent-death signal,
 * signals, descriptors. Used by the shim, whose thread is about to become the container's process.
 */
import koffi from 'koffi';
import { check, fcntl, libcFunction, O_NONBLOCK, SyscallError, lastErrno } from './libc.js';

const PR_SET_PDEATHSIG = 1;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_SET_SECCOMP = 22;
const SECCOMP_MODE_FILTER = 2;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;

// struct sock_fprog: the filter's length in instructions and a pointer to its sock_filter records
koffi.struct('mayfly_sock_fprog', { len: 'uint16_t', filter: 'void *' });

const c = {
  prctlFilter: libcFunction('int prctl(int option, unsigned long mode, const mayfly_sock_fprog *prog, unsigned long a4, unsigned long a5)'),
  prctl: libcFunction('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  syscall: libcFunction('long syscall(long number, ...)'),
  execve: libcFunction('int execve(const char *path, const char **argv, const char **envp)'),
  umask: libcFunction('uint32_t umask(uint32_t mask)'),
  signal: libcFunction('void *signal(int sig, void *handler)'),
  sigprocmask: libcFunction('int sigprocmask(int how, const uint8_t *set, uint8_t *oldset)'),
  setsid: libcFunction('int setsid()'),
  dup2: libcFunction('int dup2(int oldfd, int newfd)'),
};

export function setParentDeathSignal(signal: number): void {
  check('prctl', c.prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0), () => 'PR_SET_PDEATHSIG');
}

export function setNoNewPrivs(): void {
  check('prctl', c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), () => 'PR_SET_NO_NEW_PRIVS');
}

/**
 * Installs a seccomp filter (`struct sock_filter[]` bytes) on the calling thread; execve keeps it.
 * Needs no_new_privs (or CAP_SYS_ADMIN) first. Only this thread is filtered: it is the one that execs.
 */
export function installSeccompFilter(filter: Buffer): void {
  if (filter.length % 8 || !filter.length) throw new Error(`a seccomp filter is a non-empty array of 8-byte instructions, got ${filter.length} bytes`);
  check('prctl', c.prctlFilter(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, { len: filter.length / 8, filter }, 0, 0), () => `PR_SET_SECCOMP, ${filter.length / 8} instructions`);
}

/** Removes every capability not in `keep` from the bounding set, and clears the ambient set. */
export function limitCapabilities(keep: ReadonlySet<number>, lastCap: number): void {
  for (let cap = 0; cap <= lastCap; cap++) {
    if (!keep.has(cap)) check('prctl', c.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), () => `PR_CAPBSET_DROP, ${cap}`);
  }
  check('prctl', c.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), () => 'PR_CAP_AMBIENT_CLEAR_ALL');
}

const SYS_CREDS: Record<string, { setgroups: number; setresuid: number; setresgid: number }> = {
  x64: { setgroups: 116, setresuid: 117, setresgid: 119 },
  arm64: { setgroups: 159, setresuid: 147, setresgid: 149 },
};

/**
 * Changes the credentials of the calling thread only, with raw system calls: glibc's wrappers
 * would signal every Node thread to follow (~2 ms), and this thread is about to execve anyway.
 */
/** `groups` null: leave the supplementary groups alone (setgroups is denied in a single-id user namespace). */
export function setCredentials(uid: number, gid: number, groups: readonly number[] | null): void {
  const nr = SYS_CREDS[process.arch];
  if (!nr) throw new Error(`setCredentials: unsupported architecture ${process.arch}`);
  if (groups) {
    const list = Buffer.from(Uint32Array.from(groups).buffer);
    check('setgroups', c.syscall(nr.setgroups, 'long', groups.length, 'void *', list), () => groups.join(','));
  }
  check('setresgid', c.syscall(nr.setresgid, 'long', gid, 'long', gid, 'long', gid), () => String(gid));
  check('setresuid', c.syscall(nr.setresuid, 'long', uid, 'long', uid, 'long', uid), () => String(uid));
}

export function setUmask(mask: number): void {
  c.umask(mask);
}

/**
 * Prepares this process's file descriptors for execve: 0-2 blocking and inherited, every other
 * descriptor closed on exec. Node marks 1 and 2 close-on-exec and may leave them non-blocking.
 */
export function prepareDescriptorsForExec(openFds: readonly number[]): void {
  for (const fd of openFds) {
    const flags = fcntl(fd, F_GETFD, 0);
    if (flags < 0) continue;
    if (fd <= 2) {
      fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
      const fl = fcntl(fd, F_GETFL, 0);
      if (fl >= 0 && fl & O_NONBLOCK) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    } else {
      fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
}

/**
 * Node ignores SIGPIPE (and SIGXFSZ) and libuv may block signals; both survive execve, so the
 * container's process would inherit them. Restore the defaults a fresh process expects.
 */
export function resetSignals(): void {
  for (let sig = 1; sig <= 31; sig++) {
    if (sig === 9 || sig === 19) continue; // SIGKILL, SIGSTOP cannot be changed
    c.signal(sig, null);
  }
  check('sigprocmask', c.sigprocmask(2 /* SIG_SETMASK */, Buffer.alloc(128), null), () => 'SIG_SETMASK, {}');
}

export function execve(path: string, argv: readonly string[], envp: readonly string[]): never {
  c.execve(path, [...argv, null], [...envp, null]);
  throw new SyscallError('execve', lastErrno(), path);
}

export function newSession(): void {
  c.setsid();
}

export function dup2(from: number, to: number): void {
  check('dup2', c.dup2(from, to), () => `${from}, ${to}`);
}
