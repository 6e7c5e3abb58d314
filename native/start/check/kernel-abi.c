/* Compiled (syntax only) by scripts/build-native.mjs where the target's kernel headers exist: the
   system call numbers and structure layouts in sys.h must be the kernel's. */
#include <asm/unistd.h>
#include "../sys.h"

#define SAME(name) _Static_assert(NR_##name == __NR_##name, "sys.h: wrong number for " #name);
SAME(read) SAME(write) SAME(close) SAME(mmap) SAME(munmap) SAME(rt_sigaction) SAME(rt_sigprocmask)
SAME(ioctl) SAME(socket) SAME(clone) SAME(execve) SAME(exit) SAME(fcntl) SAME(chdir) SAME(umask)
SAME(setgroups) SAME(setresuid) SAME(setresgid) SAME(statfs) SAME(pivot_root) SAME(prctl) SAME(mount)
SAME(umount2) SAME(sethostname) SAME(openat) SAME(mkdirat) SAME(symlinkat) SAME(readlinkat)
SAME(faccessat) SAME(unshare) SAME(dup3) SAME(prlimit64) SAME(setns) SAME(seccomp) SAME(statx)
SAME(close_range) SAME(fchmodat) SAME(fchownat) SAME(waitid) SAME(clock_gettime) SAME(pidfd_open)
SAME(mount_setattr)

/* and the structures sys.h lays out by hand */
#include <stddef.h>
#include <linux/stat.h>
#include <asm/statfs.h>
_Static_assert(offsetof(struct mfs_statx, mode) == offsetof(struct statx, stx_mode), "sys.h: struct statx");
_Static_assert(offsetof(struct mfs_statfs, f_flags) == offsetof(struct statfs, f_flags), "sys.h: struct statfs");
#include <linux/mount.h>
#include <linux/filter.h>
_Static_assert(sizeof(struct mfs_mount_attr) == sizeof(struct mount_attr), "sys.h: struct mount_attr");
_Static_assert(AT_RECURSIVE == 0x8000 && MOUNT_ATTR_RDONLY == 0x1, "sys.h: mount_setattr constants");
_Static_assert(offsetof(struct mfs_sock_fprog, filter) == offsetof(struct sock_fprog, filter), "sys.h: struct sock_fprog");
