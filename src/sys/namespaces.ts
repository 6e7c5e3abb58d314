/** Namespaces: joining and leaving them, and what a new one needs first (a hostname, loopback up). */
import { check, closeFd, libcFunction, socket } from './libc.js';

export const CLONE = {
  NEWNS: 0x00020000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  NEWCGROUP: 0x02000000,
  FS: 0x00000200,
};

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

const c = {
  setns: libcFunction('int setns(int fd, int nstype)'),
  unshare: libcFunction('int unshare(int flags)'),
  sethostname: libcFunction('int sethostname(const char *name, size_t len)'),
  ioctl: libcFunction('int ioctl(int fd, unsigned long req, uint8_t *arg)'),
};

export function setns(fd: number, nstype: number): void {
  check('setns', c.setns(fd, nstype), () => `${fd}, 0x${nstype.toString(16)}`);
}

/** Changes only the calling thread's namespaces (Node is multithreaded; CLONE_NEWUSER is refused). */
export function unshare(flags: number): void {
  check('unshare', c.unshare(flags), () => `0x${flags.toString(16)}`);
}

export function sethostname(name: string): void {
  check('sethostname', c.sethostname(name, Buffer.byteLength(name)), () => name);
}

/** Brings the loopback interface of the current network namespace up. */
export function loopbackUp(): void {
  const fd = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 'AF_INET, SOCK_DGRAM');
  try {
    const ifr = Buffer.alloc(40);
    ifr.write('lo', 0, 'latin1');
    check('ioctl', c.ioctl(fd, SIOCGIFFLAGS, ifr), () => 'lo, SIOCGIFFLAGS');
    ifr.writeUInt16LE(ifr.readUInt16LE(16) | IFF_UP, 16);
    check('ioctl', c.ioctl(fd, SIOCSIFFLAGS, ifr), () => 'lo, SIOCSIFFLAGS');
  } finally {
    closeFd(fd);
  }
}
