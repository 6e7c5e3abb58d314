/**
 * The few Linux system calls Node has no API for, through koffi. Namespace and mount calls are made
 * only by the sandbox and the shim, inside mayfly's user namespace; owners use nothing here but
 * flock (the store's cross-process locks).
 */
import koffi from 'koffi';
import { isIPv4, isIPv6 } from 'node:net';
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

// ---- sockets for the port-forwarding pump (src/network/pump*.ts) ----
// The hot calls return -errno instead of throwing: EAGAIN is their normal outcome, and building an
// Error per would-block would cost more than the call itself.

const F_DUPFD_CLOEXEC = 1030;
const O_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const SO_LINGER = 13;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

export const EPOLL = {
  IN: 0x1,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  RDHUP: 0x2000,
  ET: 0x80000000,
} as const;

/** struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes). */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

const io = {
  epoll_create1: libc.func('int epoll_create1(int flags)'),
  epoll_ctl: libc.func('int epoll_ctl(int epfd, int op, int fd, uint8_t *event)'),
  epoll_wait: libc.func('int epoll_wait(int epfd, uint8_t *events, int maxevents, int timeout)'),
  eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
  read: libc.func('long read(int fd, uint8_t *buf, size_t count)'),
  write: libc.func('long write(int fd, const uint8_t *buf, size_t count)'),
  shutdown: libc.func('int shutdown(int fd, int how)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)'),
  getsockopt: libc.func('int getsockopt(int fd, int level, int name, uint8_t *value, uint32_t *len)'),
  connect: libc.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
  fcntlInt: libc.func('int fcntl(int fd, int cmd, int arg)'),
  recvfrom: libc.func('long recvfrom(int fd, uint8_t *buf, size_t len, int flags, uint8_t *addr, uint32_t *addrlen)'),
  sendto: libc.func('long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)'),
  bind: libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  getsockname: libc.func('int getsockname(int fd, uint8_t *addr, uint32_t *len)'),
};

const negErrno = (ret: number | bigint): number => (Number(ret) < 0 ? -koffi.errno() : Number(ret));

export function epollCreate(): number {
  return check('epoll_create1', io.epoll_create1(O_CLOEXEC), () => 'EPOLL_CLOEXEC');
}

/** Adds `fd` to the epoll set, reporting `events` with the descriptor number as the event's data. */
export function epollAdd(epfd: number, fd: number, events: number): void {
  const ev = Buffer.alloc(EPOLL_EVENT_SIZE);
  ev.writeUInt32LE(events >>> 0, 0);
  ev.writeUInt32LE(fd, EPOLL_DATA_OFFSET);
  check('epoll_ctl', io.epoll_ctl(epfd, 1 /* EPOLL_CTL_ADD */, fd, ev), () => `${epfd}, ADD, ${fd}`);
}

/** Removes `fd` from the epoll set: before closing it, so a stale registration (another descriptor of the same socket still open) cannot report events under a number reused since. */
export function epollDelete(epfd: number, fd: number): void {
  io.epoll_ctl(epfd, 2 /* EPOLL_CTL_DEL */, fd, null);
}

/** Waits for events into `events` (EPOLL_EVENT_SIZE bytes each); how many, or -errno (EINTR). */
export function epollWait(epfd: number, events: Buffer, timeoutMs: number): number {
  return negErrno(io.epoll_wait(epfd, events, Math.floor(events.length / EPOLL_EVENT_SIZE), timeoutMs));
}

/** The descriptor and event bits of the `i`th event epollWait returned. */
export function epollEventAt(events: Buffer, i: number): { fd: number; events: number } {
  const at = i * EPOLL_EVENT_SIZE;
  return { fd: events.readUInt32LE(at + EPOLL_DATA_OFFSET), events: events.readUInt32LE(at) };
}

/** Reads up to `len` bytes into `buf` at `offset`: bytes read, 0 at end of input, or -errno. */
export function read(fd: number, buf: Buffer, offset: number, len: number): number {
  return negErrno(io.read(fd, buf.subarray(offset, offset + len), len));
}

/** Writes `len` bytes of `buf` from `offset`: bytes written (possibly fewer), or -errno. */
export function write(fd: number, buf: Buffer, offset: number, len: number): number {
  return negErrno(io.write(fd, buf.subarray(offset, offset + len), len));
}

/** A non-blocking, close-on-exec eventfd: a counter other threads write to wake an epoll loop. */
export function eventFd(): number {
  return check('eventfd', io.eventfd(0, O_NONBLOCK | O_CLOEXEC), () => 'EFD_NONBLOCK|EFD_CLOEXEC');
}

const one = new BigUint64Array([1n]);
const oneBytes = new Uint8Array(one.buffer);

/** Adds 1 to an eventfd (wakes whoever polls it); never blocks in practice. */
export function signalEventFd(fd: number): void {
  io.write(fd, oneBytes, 8);
}

/** Resets an eventfd to 0. */
export function drainEventFd(fd: number): void {
  io.read(fd, Buffer.alloc(8), 8);
}

/** A close-on-exec duplicate of `fd` (same open socket: closing either keeps the other working). */
export function dupCloexec(fd: number): number {
  return check('fcntl', io.fcntlInt(fd, F_DUPFD_CLOEXEC, 3), () => `${fd}, F_DUPFD_CLOEXEC`);
}

export function closeFd(fd: number): void {
  c.close(fd);
}

export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** Ends one or both directions of a connection; -errno when the socket is already gone. */
export function shutdown(fd: number, how: number): number {
  return negErrno(io.shutdown(fd, how));
}

/** The pending error of a socket (SO_ERROR, cleared by reading it): 0 when none. */
export function socketError(fd: number): number {
  const v = Buffer.alloc(4);
  const len = new Uint32Array([4]);
  if (io.getsockopt(fd, SOL_SOCKET, SO_ERROR, v, len) < 0) return koffi.errno();
  return v.readInt32LE(0);
}

/** Makes the next close() send a reset instead of a FIN (SO_LINGER on, 0 seconds). */
export function setResetOnClose(fd: number): void {
  io.setsockopt(fd, SOL_SOCKET, SO_LINGER, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), 8);
}

/** Sends small writes at once (TCP_NODELAY): a forwarder must not add Nagle's delay to the sender's own. */
export function setNoDelay(fd: number): void {
  io.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, Buffer.from([1, 0, 0, 0]), 4);
}

/** A new non-blocking, close-on-exec UDP/IPv4 socket in this thread's network namespace. */
export function udpSocket(): number {
  return check('socket', c.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_NONBLOCK | O_CLOEXEC, 0), () => 'AF_INET, SOCK_DGRAM');
}

/** sockaddr_in or sockaddr_in6 bytes for an IP address in text form. */
function socketAddress(ip: string, port: number): Buffer {
  if (isIPv4(ip)) {
    const a = Buffer.alloc(16);
    a.writeUInt16LE(2 /* AF_INET */, 0);
    a.writeUInt16BE(port, 2);
    ip.split('.').forEach((octet, i) => a.writeUInt8(Number(octet), 4 + i));
    return a;
  }
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const a = Buffer.alloc(28);
  a.writeUInt16LE(10 /* AF_INET6 */, 0);
  a.writeUInt16BE(port, 2);
  ipv6Groups(ip).forEach((g, i) => a.writeUInt16BE(g, 8 + 2 * i));
  return a;
}

/** The eight 16-bit groups of an IPv6 address: `::` expanded, a dotted IPv4 tail split in two. */
function ipv6Groups(ip: string): number[] {
  const groups = (part: string): number[] =>
    part
      ? part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  const [head = '', tail] = ip.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** A non-blocking, close-on-exec UDP socket bound to `ip`:`port` (0: any free port), and the port it got. Fails like bind(2) (EADDRINUSE). */
export function bindUdp(ip: string, port: number): { fd: number; port: number } {
  const addr = socketAddress(ip, port);
  const fd = check('socket', c.socket(addr.readUInt16LE(0), 2 /* SOCK_DGRAM */ | O_NONBLOCK | O_CLOEXEC, 0), () => `${ip}, SOCK_DGRAM`);
  try {
    check('bind', io.bind(fd, addr, addr.length), () => `${ip}:${port}`);
    const len = new Uint32Array([addr.length]);
    check('getsockname', io.getsockname(fd, addr, len), () => String(fd));
    return { fd, port: addr.readUInt16BE(2) };
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** Receives one datagram into `buf` and its sender's address into `addr` (sockaddr bytes; its length in `addrLen[0]`): the datagram's length, or -errno. */
export function recvFrom(fd: number, buf: Buffer, addr: Buffer, addrLen: Uint32Array): number {
  addrLen[0] = addr.length;
  return negErrno(io.recvfrom(fd, buf, buf.length, 0, addr, addrLen));
}

/** Sends `len` bytes of `buf` as one datagram, to `addr` (sockaddr bytes) or, when null, to the socket's connected peer: bytes sent, or -errno. */
export function sendTo(fd: number, buf: Buffer, len: number, addr: Buffer | null): number {
  return negErrno(io.sendto(fd, buf, len, 0, addr, addr?.length ?? 0));
}

/** Starts connecting a non-blocking socket to `host`:`port`: 0 when connected, else -errno (-EINPROGRESS: wait until writable). */
export function connectTo(fd: number, host: string, port: number): number {
  const addr = socketAddress(host, port);
  return negErrno(io.connect(fd, addr, addr.length));
}

