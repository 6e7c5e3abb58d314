/** epoll, eventfd and raw reads/writes: the pump thread's event loop works on descriptors, not streams. */
import { check, fcntl, libcFunction, negErrno, O_CLOEXEC, O_NONBLOCK } from './libc.js';

export { closeFd } from './libc.js';

export const EPOLL = {
  IN: 0x1,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  RDHUP: 0x2000,
  ET: 0x80000000,
};

/** struct epoll_event is packed on x86-64 only. */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const F_DUPFD_CLOEXEC = 1030;

const c = {
  epoll_create1: libcFunction('int epoll_create1(int flags)'),
  epoll_ctl: libcFunction('int epoll_ctl(int epfd, int op, int fd, uint8_t *event)'),
  epoll_wait: libcFunction('int epoll_wait(int epfd, uint8_t *events, int maxevents, int timeout)'),
  eventfd: libcFunction('int eventfd(unsigned int initval, int flags)'),
  read: libcFunction('long read(int fd, uint8_t *buf, size_t count)'),
  write: libcFunction('long write(int fd, const uint8_t *buf, size_t count)'),
};

export function epollCreate(): number {
  return check('epoll_create1', c.epoll_create1(O_CLOEXEC), () => 'EPOLL_CLOEXEC');
}

/** Adds `fd` to the epoll set, reporting `events` with the descriptor number as the event's data. */
export function epollAdd(epfd: number, fd: number, events: number): void {
  const ev = Buffer.alloc(EPOLL_EVENT_SIZE);
  ev.writeUInt32LE(events >>> 0, 0);
  ev.writeUInt32LE(fd, EPOLL_DATA_OFFSET);
  check('epoll_ctl', c.epoll_ctl(epfd, 1 /* EPOLL_CTL_ADD */, fd, ev), () => `${epfd}, ADD, ${fd}`);
}

/** Removes `fd` from the epoll set: before closing it, so a stale registration (another descriptor of the same socket still open) cannot report events under a number reused since. */
export function epollDelete(epfd: number, fd: number): void {
  c.epoll_ctl(epfd, 2 /* EPOLL_CTL_DEL */, fd, null);
}

/** Waits for events into `events` (EPOLL_EVENT_SIZE bytes each); how many, or -errno (EINTR). */
export function epollWait(epfd: number, events: Buffer, timeoutMs: number): number {
  return negErrno(c.epoll_wait(epfd, events, Math.floor(events.length / EPOLL_EVENT_SIZE), timeoutMs));
}

/** The descriptor and event bits of the `i`th event epollWait returned. */
export function epollEventAt(events: Buffer, i: number): { fd: number; events: number } {
  const at = i * EPOLL_EVENT_SIZE;
  return { fd: events.readUInt32LE(at + EPOLL_DATA_OFFSET), events: events.readUInt32LE(at) };
}

/** Reads up to `len` bytes into `buf` at `offset`: bytes read, 0 at end of input, or -errno. */
export function read(fd: number, buf: Buffer, offset: number, len: number): number {
  return negErrno(c.read(fd, buf.subarray(offset, offset + len), len));
}

/** Writes `len` bytes of `buf` from `offset`: bytes written (possibly fewer), or -errno. */
export function write(fd: number, buf: Buffer, offset: number, len: number): number {
  return negErrno(c.write(fd, buf.subarray(offset, offset + len), len));
}

/** A non-blocking, close-on-exec eventfd: a counter other threads write to wake an epoll loop. */
export function eventFd(): number {
  return check('eventfd', c.eventfd(0, O_NONBLOCK | O_CLOEXEC), () => 'EFD_NONBLOCK|EFD_CLOEXEC');
}

const one = new BigUint64Array([1n]);
const oneBytes = new Uint8Array(one.buffer);

/** Adds 1 to an eventfd (wakes whoever polls it); never blocks in practice. */
export function signalEventFd(fd: number): void {
  c.write(fd, oneBytes, 8);
}

/** Resets an eventfd to 0. */
export function drainEventFd(fd: number): void {
  c.read(fd, Buffer.alloc(8), 8);
}

/** A close-on-exec duplicate of `fd` (same open socket: closing either keeps the other working). */
export function dupCloexec(fd: number): number {
  return check('fcntl', fcntl(fd, F_DUPFD_CLOEXEC, 3), () => `${fd}, F_DUPFD_CLOEXEC`);
}
