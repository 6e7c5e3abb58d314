/**
 * The default seccomp policy, equivalent to Docker's default profile: an allow list of ordinary
 * system calls; the rest fail with EPERM. Denied thereby: new namespaces (unshare, setns, clone
 * with CLONE_NEW* flags — nested user namespaces are where most unprivileged kernel exploits
 * start), mounts and the new mount API, keyrings, bpf, perf, kexec and modules, open_by_handle_at,
 * userfaultfd, reboot, swap, clock setting, AF_VSOCK sockets. As in Docker, a capability granted
 * with capAdd brings back the calls it governs (SYS_ADMIN: mount, unshare…).
 *
 * Stricter than Docker: only the native ABI passes (no 32-bit or x32 entry on x86_64, no AArch32
 * on aarch64), and calls newer than this table get ENOSYS, so a C library falls back to an older one.
 */
import type { CapabilityName } from '../../model/capabilities.js';
import { AUDIT_ARCH } from './bpf.js';
import type { Action, Conditional, Policy, Rule } from './compile.js';
import { SYSCALL_NUMBERS } from './syscall-table.js';

export type SeccompArch = keyof typeof SYSCALL_NUMBERS;

const EPERM = 1;
const ENOSYS = 38;
const deny: Action = { errno: EPERM };

const words = (s: string) => s.trim().split(/\s+/);

/** Ordinary calls: files, memory, processes without new namespaces, signals, time, sockets, IPC. */
const ALLOWED = words(`
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
  fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
  fgetxattr file_getattr file_setattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
  fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
  futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
  getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
  getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
  getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
  io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset
  landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr listxattrat llistxattr
  _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret
  mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
  mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
  mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
  newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
  pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
  process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
  readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr
  removexattrat rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
  rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
  semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid
  setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
  setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit
  set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr setxattrat
  shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall
  socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs
  sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
  timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime
  utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
  process_vm_readv process_vm_writev ptrace
`);

const ALLOWED_ON: Record<SeccompArch, string[]> = {
  x86_64: words('arch_prctl modify_ldt map_shadow_stack uretprobe'),
  aarch64: words('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'),
};

/** Calls a capability governs: allowed when the container has it (capAdd, privileged). */
const BY_CAPABILITY: Partial<Record<CapabilityName, string[]>> = {
  DAC_READ_SEARCH: words('open_by_handle_at'),
  SYS_ADMIN: words(`bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
    move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`),
  SYS_BOOT: words('reboot'),
  SYS_CHROOT: words('chroot'),
  SYS_MODULE: words('delete_module init_module finit_module'),
  SYS_PACCT: words('acct'),
  SYS_PTRACE: words('kcmp pidfd_getfd process_madvise'),
  SYS_RAWIO: words('iopl ioperm'),
  SYS_TIME: words('settimeofday stime clock_settime clock_settime64'),
  SYS_TTY_CONFIG: words('vhangup'),
  SYS_NICE: words('get_mempolicy mbind set_mempolicy set_mempolicy_home_node'),
  SYSLOG: words('syslog'),
  BPF: words('bpf'),
  PERFMON: words('perf_event_open'),
};

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: a clone may set none of them */
const CLONE_NAMESPACE_FLAGS = 0x7e020000n;
const AF_VSOCK = 40n;
/** personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff */
const PERSONALITIES = [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn];

/** Rules by name that depend on arguments (and on SYS_ADMIN for clone). */
function conditionalRules(caps: ReadonlySet<CapabilityName>): Record<string, Rule> {
  const rules: Record<string, Conditional> = {
    socket: { cases: [{ when: [{ arg: 0, bits: 32, op: 'eq', value: AF_VSOCK }], then: deny }], otherwise: 'allow' },
    personality: { cases: PERSONALITIES.map((p) => ({ when: [{ arg: 0, bits: 32, op: 'eq' as const, value: p }], then: 'allow' as const })), otherwise: deny },
  };
  if (caps.has('SYS_ADMIN')) return rules;
  return {
    ...rules,
    clone: { cases: [{ when: [{ arg: 0, bits: 64, op: 'masked-eq', mask: CLONE_NAMESPACE_FLAGS, value: 0n }], then: 'allow' }], otherwise: deny },
    // clone3 passes its flags in memory, out of a filter's sight: ENOSYS makes the C library use clone
    clone3: { errno: ENOSYS },
  };
}

/** The default policy for a container with these capabilities, on `arch`. */
export function defaultPolicy(arch: SeccompArch, caps: ReadonlySet<CapabilityName>): Policy {
  const table: Record<string, number> = SYSCALL_NUMBERS[arch];
  const rules = new Map<number, Rule>();
  const set = (name: string, rule: Rule) => {
    const nr = table[name];
    // names of other architectures (chown32, _llseek…) have no number here
    if (nr !== undefined) rules.set(nr, rule);
  };
  for (const name of [...ALLOWED, ...ALLOWED_ON[arch]]) set(name, 'allow');
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap as CapabilityName)) for (const name of names) set(name, 'allow');
  for (const [name, rule] of Object.entries(conditionalRules(caps))) set(name, rule);
  return {
    auditArch: AUDIT_ARCH[arch],
    ...(arch === 'x86_64' ? { foreignAbiBit: 0x40000000 } : {}),
    foreignArch: deny,
    rules,
    otherwise: deny,
    maxKnown: Math.max(...Object.values(table)),
    unknown: { errno: ENOSYS },
  };
}
