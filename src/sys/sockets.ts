/** Non-blocking sockets made in the calling thread's network namespace (the pump joins a container's first). */
import { isIPv4, isIPv6 } from 'node:net';
import { check, closeFd, libcFunction, lastErrno, negErrno, O_CLOEXEC, O_NONBLOCK, socket } from './libc.js';

export { closeFd, SyscallError } from './libc.js';

const SOL_SOCKET = 1;
const SO_ERROR = 4;
const SO_LINGER = 13;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

const c = {
  shutdown: libcFunction('int shutdown(int fd, int how)'),
  setsockopt: libcFunction('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)'),
  getsockopt: libcFunction('int getsockopt(int fd, int level, int name, uint8_t *value, uint32_t *len)'),
  connect: libcFunction('int connect(int fd, const uint8_t *addr, uint32_t len)'),
  recvfrom: libcFunction('long recvfrom(int fd, uint8_t *buf, size_t len, int flags, uint8_t *addr, uint32_t *addrlen)'),
  sendto: libcFunction('long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)'),
  bind: libcFunction('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  getsockname: libcFunction('int getsockname(int fd, uint8_t *addr, uint32_t *len)'),
  listen: libcFunction('int listen(int fd, int backlog)'),
};

const SO_REUSEADDR = 2;

/** A new non-blocking, close-on-exec TCP/IPv4 socket in this thread's network namespace. */
export function tcpSocket(): number {
  return socket(2 /* AF_INET */, 1 /* SOCK_STREAM */ | O_NONBLOCK | O_CLOEXEC, 'AF_INET, SOCK_STREAM');
}

/** A new non-blocking, close-on-exec UDP/IPv4 socket in this thread's network namespace. */
export function udpSocket(): number {
  return socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_NONBLOCK | O_CLOEXEC, 'AF_INET, SOCK_DGRAM');
}

export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** Ends one or both directions of a connection; -errno when the socket is already gone. */
export function shutdown(fd: number, how: number): number {
  return negErrno(c.shutdown(fd, how));
}

/** The pending error of a socket (SO_ERROR, cleared by reading it): 0 when none. */
export function socketError(fd: number): number {
  const v = Buffer.alloc(4);
  const len = new Uint32Array([4]);
  if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, v, len) < 0) return lastErrno();
  return v.readInt32LE(0);
}

/** Makes the next close() send a reset instead of a FIN (SO_LINGER on, 0 seconds). */
export function setResetOnClose(fd: number): void {
  c.setsockopt(fd, SOL_SOCKET, SO_LINGER, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), 8);
}

/** Sends small writes at once (TCP_NODELAY): a forwarder must not add Nagle's delay to the sender's own. */
export function setNoDelay(fd: number): void {
  c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, Buffer.from([1, 0, 0, 0]), 4);
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
  const fd = socket(addr.readUInt16LE(0), 2 /* SOCK_DGRAM */ | O_NONBLOCK | O_CLOEXEC, `${ip}, SOCK_DGRAM`);
  try {
    check('bind', c.bind(fd, addr, addr.length), () => `${ip}:${port}`);
    const len = new Uint32Array([addr.length]);
    check('getsockname', c.getsockname(fd, addr, len), () => String(fd));
    return { fd, port: addr.readUInt16BE(2) };
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/**
 * A non-blocking, close-on-exec TCP socket listening on `ip`:`port` in this thread's network
 * namespace. Fails like bind(2) (EADDRINUSE, EADDRNOTAVAIL).
 */
export function tcpListen(ip: string, port: number, backlog = 511): number {
  const addr = socketAddress(ip, port);
  const fd = socket(addr.readUInt16LE(0), 1 /* SOCK_STREAM */ | O_NONBLOCK | O_CLOEXEC, `${ip}, SOCK_STREAM`);
  try {
    c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, Buffer.from([1, 0, 0, 0]), 4);
    check('bind', c.bind(fd, addr, addr.length), () => `${ip}:${port}`);
    check('listen', c.listen(fd, backlog), () => `${ip}:${port}`);
    return fd;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** Receives one datagram into `buf` and its sender's address into `addr` (sockaddr bytes; its length in `addrLen[0]`): the datagram's length, or -errno. */
export function recvFrom(fd: number, buf: Buffer, addr: Buffer, addrLen: Uint32Array): number {
  addrLen[0] = addr.length;
  return negErrno(c.recvfrom(fd, buf, buf.length, 0, addr, addrLen));
}

/** Sends `len` bytes of `buf` as one datagram, to `addr` (sockaddr bytes) or, when null, to the socket's connected peer: bytes sent, or -errno. */
export function sendTo(fd: number, buf: Buffer, len: number, addr: Buffer | null): number {
  return negErrno(c.sendto(fd, buf, len, 0, addr, addr?.length ?? 0));
}

/** Starts connecting a non-blocking socket to `host`:`port`: 0 when connected, else -errno (-EINPROGRESS: wait until writable). */
export function connectTo(fd: number, host: string, port: number): number {
  const addr = socketAddress(host, port);
  return negErrno(c.connect(fd, addr, addr.length));
}

