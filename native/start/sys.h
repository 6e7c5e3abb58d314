/*
 * Raw Linux system calls for x86-64 and arm64, without a C library: the start code runs in a child
 * that shares the sandbox's memory (CLONE_VM) until it execs, where no libc state may be touched,
 * and a library without libc loads into any Node (glibc of any version, musl).
 */
#ifndef MFS_SYS_H
#define MFS_SYS_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int i32;
typedef long long i64;

#if defined(__x86_64__)
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_munmap 11
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_ioctl 16
#define NR_socket 41
#define NR_clone 56
#define NR_execve 59
#define NR_exit 60
#define NR_fcntl 72
#define NR_chdir 80
#define NR_umask 95
#define NR_setgroups 116
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_statfs 137
#define NR_pivot_root 155
#define NR_prctl 157
#define NR_mount 165
#define NR_umount2 166
#define NR_sethostname 170
#define NR_openat 257
#define NR_mkdirat 258
#define NR_fchownat 260
#define NR_fchmodat 268
#define NR_symlinkat 266
#define NR_readlinkat 267
#define NR_faccessat 269
#define NR_unshare 272
#define NR_dup3 292
#define NR_prlimit64 302
#define NR_setns 308
#define NR_setsid 112
#define NR_seccomp 317
#define NR_statx 332
#define NR_close_range 436
#define NR_waitid 247
#define NR_clock_gettime 228
#define NR_pidfd_open 434
#define NR_mount_setattr 442

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
#define NR_read 63
#define NR_write 64
#define NR_close 57
#define NR_mmap 222
#define NR_munmap 215
#define NR_rt_sigaction 134
#define NR_rt_sigprocmask 135
#define NR_ioctl 29
#define NR_socket 198
#define NR_clone 220
#define NR_execve 221
#define NR_exit 93
#define NR_fcntl 25
#define NR_chdir 49
#define NR_umask 166
#define NR_setgroups 159
#define NR_setresuid 147
#define NR_setresgid 149
#define NR_statfs 43
#define NR_pivot_root 41
#define NR_prctl 167
#define NR_mount 40
#define NR_umount2 39
#define NR_sethostname 161
#define NR_openat 56
#define NR_mkdirat 34
#define NR_fchmodat 53
#define NR_fchownat 54
#define NR_symlinkat 36
#define NR_readlinkat 78
#define NR_faccessat 48
#define NR_unshare 97
#define NR_dup3 24
#define NR_prlimit64 261
#define NR_setns 268
#define NR_setsid 157
#define NR_seccomp 277
#define NR_statx 291
#define NR_close_range 436
#define NR_waitid 95
#define NR_clock_gettime 113
#define NR_pidfd_open 434
#define NR_mount_setattr 442

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
}
#else
#error "mayfly's native start path is built for x86-64 and arm64 only"
#endif

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* A raw system call returns -errno in [-4095, -1]. */
#define SYS_FAILED(r) ((unsigned long)(r) > -4096UL)

/* CLOCK_MONOTONIC in ns, for the step timings the report carries */
static inline u64 monotonic_ns(void) {
  long ts[2] = {0, 0};
  sys2(NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, ts);
  return (u64)ts[0] * 1000000000ULL + (u64)ts[1];
}

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EACCESS 0x200
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_NOCTTY 0400
#define O_APPEND 02000
#define O_CLOEXEC 02000000
#define F_SETFD 2
#define FD_CLOEXEC 1
#define X_OK 1

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EBADF 9
#define EACCES 13
#define EEXIST 17
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENOSPC 28
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ELOOP 40
#define ENOEXEC 8
#define E2BIG 7

#define MS_RDONLY 0x1
#define MS_NOSUID 0x2
#define MS_NODEV 0x4
#define MS_NOEXEC 0x8
#define MS_REMOUNT 0x20
#define MS_NOATIME 0x400
#define MS_NODIRATIME 0x800
#define MS_BIND 0x1000
#define MS_REC 0x4000
#define MS_RELATIME 0x200000
#define MS_STRICTATIME 0x1000000
#define MNT_DETACH 2
#define AT_RECURSIVE 0x8000
#define MOUNT_ATTR_RDONLY 0x1

/* struct mount_attr (mount_setattr(2)) */
struct mfs_mount_attr {
  u64 attr_set, attr_clr, propagation, userns_fd;
};

#define SECCOMP_MODE_FILTER 2
/* struct sock_fprog: a length in instructions, then a pointer to them */
struct mfs_sock_fprog {
  u16 len;
  const void *filter;
};

#define CLONE_VM 0x00000100
#define CLONE_PIDFD 0x00001000
#define CLONE_VFORK 0x00004000
#define CLONE_PARENT 0x00008000

#define P_PIDFD 3
#define WNOHANG 1
#define WEXITED 4
#define CLD_EXITED 1
#define SIGCHLD 17

#define PR_SET_PDEATHSIG 1
#define PR_SET_SECCOMP 22
#define PR_CAPBSET_DROP 24
#define PR_SET_NO_NEW_PRIVS 38
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define S_IFREG 0100000

/* struct statx: the same layout on every architecture (unlike struct stat). */
struct mfs_statx {
  u32 mask, blksize;
  u64 attributes;
  u32 nlink, uid, gid;
  u16 mode, spare0;
  u64 ino, size, blocks, attributes_mask;
  u8 rest[256 - 64];
};
#define STATX_TYPE 0x1
#define STATX_MODE 0x2

/* struct statfs on 64-bit architectures: f_flags is the 11th word on x86-64 and arm64 alike. */
struct mfs_statfs {
  long words[10];
  long f_flags;
  long spare[5];
};

/* The kernel's struct sigaction (x86-64 and arm64 both have sa_restorer). */
struct mfs_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  u64 mask;
};

#endif
