/** Mounts and the root directory: what the shim needs to build a container's filesystem. */
import { check, lastErrno, libcFunction } from './libc.js';

const ENOSYS = 38;

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
};

const MNT_DETACH = 2;
const SYS_pivot_root: Record<string, number> = { x64: 155, arm64: 41 };
const SYS_mount_setattr = 442; // the same on every architecture
const AT_FDCWD = -100;
const AT_RECURSIVE = 0x8000;
const MOUNT_ATTR_RDONLY = 0x1;

const c = {
  mount: libcFunction('int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libcFunction('int umount2(const char *target, int flags)'),
  syscall: libcFunction('long syscall(long number, ...)'),
  chdir: libcFunction('int chdir(const char *path)'),
  chroot: libcFunction('int chroot(const char *path)'),
  mknod: libcFunction('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
};

export function mount(src: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check('mount', c.mount(src, target, fstype, flags, data), () => `${src}, ${target}, ${fstype}, 0x${flags.toString(16)}, ${data ?? ''}`);
}

export function umount(target: string, detach = true): void {
  check('umount2', c.umount2(target, detach ? MNT_DETACH : 0), () => target);
}

/**
 * Makes the mount at `target` and every mount below it read-only: mount_setattr(2) (Linux 5.12+)
 * with AT_RECURSIVE; on older kernels a remount of the top one only, repeating the flags the kernel
 * locked on it (`lockedFlags()`: nosuid, nodev… which a remount may not drop).
 */
export function makeReadonly(target: string, lockedFlags: () => number): void {
  const attr = Buffer.alloc(32); // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
  attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_RDONLY), 0);
  const ret = Number(c.syscall(SYS_mount_setattr, 'int', AT_FDCWD, 'str', target, 'unsigned int', AT_RECURSIVE, 'void *', attr, 'size_t', 32));
  if (ret === 0) return;
  if (lastErrno() !== ENOSYS) check('mount_setattr', ret, () => `${target}, AT_RECURSIVE, MOUNT_ATTR_RDONLY`);
  mount(null, target, null, MS.BIND | MS.REMOUNT | MS.RDONLY | lockedFlags());
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

export function mknod(path: string, mode: number, dev: number): void {
  check('mknod', c.mknod(path, mode, BigInt(dev)), () => `${path}, 0o${mode.toString(8)}, ${dev}`);
}
