/**
 * The few Linux system calls Node has no API for, through koffi. Namespace and mount calls are made
 * only by the sandbox and the shim, inside mayfly's user namespace; owners use nothing here but
 * flock (the store's cross-process locks).
 */
import koffi from 'koffi';
import { constants } from 'node:os';

const libc = koffi.load('libc.so.6');

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name]),
);

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly args: string,
  ) {
    super(`${call}(${args}) failed: ${errnoNames.get(errno) ?? `errno ${errno}`}`);
    this.name = 'SyscallError';
  }
  get errnoName(): string {
    return errnoNames.get(this.errno) ?? String(this.errno);
  }
}

function check(call: string, ret: number | bigint, args: () => string): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(call, koffi.errno(), args());
  return n;
}

// MS_* mount flags (linux/mount.h)
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  NOATIME: 0x400,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  STRICTATIME: 0x1000000,
} as const;

export const CLONE = {
  NEWNS: 0x00020000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  NEWCGROUP: 0x02000000,
  FS: 0x00000200,
} as const;

const MNT_DETACH = 2;
const PR_SET_PDEATHSIG = 1;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

const SYS_pivot_root: Record<string, number> = { x64: 155, arm64: 41 };

const c = {
  mount: libc.func('int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  syscall: libc.func('long syscall(long number, ...)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  unshare: libc.func('int unshare(int flags)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
  umask: libc.func('uint32_t umask(uint32_t mask)'),
  chdir: libc.func('int chdir(const char *path)'),
  chroot: libc.func('int chroot(const char *path)'),
  signal: libc.func('void *signal(int sig, void *handler)'),
  sigprocmask: libc.func('int sigprocmask(int how, const uint8_t *set, uint8_t *oldset)'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  close: libc.func('int close(int fd)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long req, uint8_t *arg)'),
  mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  setsid: libc.func('int setsid()'),
  flock: libc.func('int flock(int fd, int op)'),
  dup2: libc.func('int dup2(int oldfd, int newfd)'),
  lgetxattr: libc.func('long lgetxattr(const char *path, const char *name, uint8_t *value, size_t size)'),
};

export function mount(src: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check('mount', c.mount(src, target, fstype, flags, data), () => `${src}, ${target}, ${fstype}, 0x${flags.toString(16)}, ${data ?? ''}`);
}

export function umount(target: string, detach = true): void {
  check('umount2', c.umount2(target, detach ? MNT_DETACH : 0), () => target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const nr = SYS_pivot_root[process.arch];
  if (nr === undefined) throw new Error(`pivot_root: unsupported architecture ${process.arch}`);
  check('pivot_root', c.syscall(nr, 'str', newRoot, 'str', putOld), () => `${newRoot}, ${putOld}`);
}

export function chdir(path: string): void {
  check('chdir', c.chdir(path), () => path);
}

export function chroot(path: string): void {
  check('chroot', c.chroot(path), () => path);
}

export function sethostname(name: string): void {
  check('sethostname', c.sethostname(name, Buffer.byteLength(name)), () => name);
}

export function setns(fd: number, nstype: number): void {
  check('setns', c.setns(fd, nstype), () => `${fd}, 0x${nstype.toString(16)}`);
}

export function unshare(flags: number): void {
  check('unshare', c.unshare(flags), () => `0x${flags.toString(16)}`);
}

export function setParentDeathSignal(signal: number): void {
  check('prctl', c.prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0), () => 'PR_SET_PDEATHSIG');
}

export function setNoNewPrivs(): void {
  check('prctl', c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), () => 'PR_SET_NO_NEW_PRIVS');
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
export function setCredentials(uid: number, gid: number, groups: readonly number[]): void {
  const nr = SYS_CREDS[process.arch];
  if (!nr) throw new Error(`setCredentials: unsupported architecture ${process.arch}`);
  const list = Buffer.from(Uint32Array.from(groups).buffer);
  check('setgroups', c.syscall(nr.setgroups, 'long', groups.length, 'void *', list), () => groups.join(','));
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
    const flags = c.fcntl(fd, F_GETFD, 'int', 0);
    if (flags < 0) continue;
    if (fd <= 2) {
      c.fcntl(fd, F_SETFD, 'int', flags & ~FD_CLOEXEC);
      const fl = c.fcntl(fd, F_GETFL, 'int', 0);
      if (fl >= 0 && fl & O_NONBLOCK) c.fcntl(fd, F_SETFL, 'int', fl & ~O_NONBLOCK);
    } else {
      c.fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC);
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
  throw new SyscallError('execve', koffi.errno(), path);
}

/** Brings the loopback interface of the current network namespace up. */
export function loopbackUp(): void {
  const fd = check('socket', c.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0), () => 'AF_INET, SOCK_DGRAM');
  try {
    const ifr = Buffer.alloc(40);
    ifr.write('lo', 0, 'latin1');
    check('ioctl', c.ioctl(fd, SIOCGIFFLAGS, ifr), () => 'lo, SIOCGIFFLAGS');
    ifr.writeUInt16LE(ifr.readUInt16LE(16) | IFF_UP, 16);
    check('ioctl', c.ioctl(fd, SIOCSIFFLAGS, ifr), () => 'lo, SIOCSIFFLAGS');
  } finally {
    c.close(fd);
  }
}

export function mknod(path: string, mode: number, dev: number): void {
  check('mknod', c.mknod(path, mode, BigInt(dev)), () => `${path}, 0o${mode.toString(8)}, ${dev}`);
}

export function newSession(): void {
  c.setsid();
}

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

/** Takes an exclusive (or `shared`) flock on an open file; false when another process holds a conflicting one (non-blocking). */
export function tryLock(fd: number, shared = false): boolean {
  if (c.flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) === 0) return true;
  const errno = koffi.errno();
  if (errno === constants.errno.EWOULDBLOCK) return false;
  throw new SyscallError('flock', errno, String(fd));
}

export function dup2(from: number, to: number): void {
  check('dup2', c.dup2(from, to), () => `${from}, ${to}`);
}

/** An extended attribute's value as text, or undefined when the file has none by that name. */
export function getXattr(path: string, name: string): string | undefined {
  const buf = Buffer.alloc(256);
  const n = Number(c.lgetxattr(path, name, buf, buf.length));
  return n < 0 ? undefined : buf.subarray(0, n).toString();
}

/** A new non-blocking, close-on-exec TCP/IPv4 socket in this thread's network namespace. */
export function tcpSocket(): number {
  return check('socket', c.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */ | 0o4000 /* NONBLOCK */ | 0o2000000 /* CLOEXEC */, 0), () => 'AF_INET, SOCK_STREAM');
}
