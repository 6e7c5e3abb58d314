/**
 * Pseudo-terminals for `-t`: a pty pair from a devpts instance's ptmx (the container's own, so the
 * slave's name means something inside it), its window size, and the controlling terminal of a
 * process about to exec. The slave is opened through TIOCGPTPEER: no path lookup, whichever mount
 * namespace the caller is in.
 */
import { closeSync, openSync } from 'node:fs';
import { check, libcFunction, O_CLOEXEC } from './libc.js';

const ioctlInt = libcFunction('int ioctl(int fd, unsigned long req, unsigned long arg)');
const ioctlBuf = libcFunction('int ioctl(int fd, unsigned long req, uint8_t *arg)');
const setsid = libcFunction('int setsid()');

// asm-generic/ioctls.h (the same on x86_64 and arm64)
const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTPEER = 0x5441;
const TIOCGPTN = 0x80045430;
const O_RDWR = 0o2;
const O_NOCTTY = 0o400;

export interface PtyPair {
  master: number;
  slave: number;
}

/** A new pty of the devpts whose ptmx is at `ptmx`: the master (close-on-exec) and its slave. */
export function openPty(ptmx: string): PtyPair {
  const master = openSync(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  try {
    check('ioctl', ioctlBuf(master, TIOCSPTLCK, Buffer.alloc(4)), () => `${ptmx}, TIOCSPTLCK`);
    const slave = check('ioctl', ioctlInt(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), () => `${ptmx}, TIOCGPTPEER`);
    return { master, slave };
  } catch (e) {
    closeSync(master);
    throw e;
  }
}

/** TIOCSWINSZ: the terminal's size (the foreground process group gets SIGWINCH when it changes). */
export function setWindowSize(fd: number, cols: number, rows: number): void {
  const ws = Buffer.alloc(8); // struct winsize: rows, cols, xpixel, ypixel (u16 each)
  ws.writeUInt16LE(Math.max(0, Math.min(65535, rows)), 0);
  ws.writeUInt16LE(Math.max(0, Math.min(65535, cols)), 2);
  check('ioctl', ioctlBuf(fd, TIOCSWINSZ, ws), () => `${fd}, TIOCSWINSZ`);
}

const dup2 = libcFunction('int dup2(int oldfd, int newfd)');
const fchown = libcFunction('int fchown(int fd, int uid, int gid)');

/**
 * setsid; fds 0-2 (a pty slave) reopened at `path` when given (its name where the process lives),
 * owned by `uid` when given; then the new session's controlling terminal.
 */
export function takeControllingTerminal(path: string, uid?: number): void {
  check('setsid', setsid(), () => '');
  if (path) {
    const fd = openSync(path, O_RDWR | O_NOCTTY);
    for (const i of [0, 1, 2]) check('dup2', dup2(fd, i), () => `${path}, ${i}`);
    if (fd > 2) closeSync(fd);
  }
  if (uid !== undefined) check('fchown', fchown(0, uid, -1), () => `the terminal, ${uid}`);
  check('ioctl', ioctlInt(0, TIOCSCTTY, 0), () => `0, TIOCSCTTY`);
}

/** The pty's number (/dev/pts/N) from its master. */
export function ptyNumber(master: number): number {
  const n = Buffer.alloc(4);
  check('ioctl', ioctlBuf(master, TIOCGPTN, n), () => `${master}, TIOCGPTN`);
  return n.readUInt32LE(0);
}
