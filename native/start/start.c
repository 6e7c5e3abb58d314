/*
 * mayfly's native start path: the sandbox (a Node process inside the user namespace) calls
 * mfs_start through koffi. It clones the container's first process into fresh mount, pid, uts and
 * ipc namespaces on a stack of its own, sharing the sandbox's memory and suspending the calling
 * thread until the child has exec'd or failed (CLONE_VM | CLONE_VFORK, as posix_spawn does). The
 * child runs the plan's steps and execs the container's program; a failure is written to the
 * report, which the sandbox reads as soon as it resumes. The exit is learned through the pidfd.
 */
#include "plan.h"
#include "report.h"
#include "steps.h"
#include "text.h"

#define EXPORT __attribute__((visibility("default")))
#define ABI_VERSION 2

#define STACK_SIZE (512 * 1024)
#define ARENA_SIZE (4 * 1024 * 1024)

#define NS_FLAGS_ALLOWED (0x00020000 /* NEWNS */ | 0x02000000 /* NEWCGROUP */ | 0x04000000 /* NEWUTS */ | \
                          0x08000000 /* NEWIPC */ | 0x20000000 /* NEWPID */ | 0x40000000 /* NEWNET */)

/* clone(flags, stack, parent_tid = pidfd) that runs fn(arg) on `stack` in the child and exits with its result */
long mfs_clone(unsigned long flags, void *stack_top, i32 *pidfd, int (*fn)(void *), void *arg);

#if defined(__x86_64__)
__asm__(".text\n"
        ".global mfs_clone\n"
        ".hidden mfs_clone\n"
        ".type mfs_clone,@function\n"
        "mfs_clone:\n"
        /* rdi flags, rsi stack, rdx pidfd, rcx fn, r8 arg: fn and arg go on the child's stack */
        "  and $-16, %rsi\n"
        "  sub $16, %rsi\n"
        "  mov %rcx, (%rsi)\n"
        "  mov %r8, 8(%rsi)\n"
        "  xor %r10d, %r10d\n" /* child_tid */
        "  xor %r8d, %r8d\n"   /* tls */
        "  mov $56, %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n"
        "  syscall\n"
        "  hlt\n"
        "1: ret\n"
        ".size mfs_clone, .-mfs_clone\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global mfs_clone\n"
        ".hidden mfs_clone\n"
        ".type mfs_clone,%function\n"
        "mfs_clone:\n"
        /* x0 flags, x1 stack, x2 pidfd, x3 fn, x4 arg: fn and arg go on the child's stack */
        "  and x1, x1, #-16\n"
        "  stp x3, x4, [x1, #-16]!\n"
        "  mov x3, xzr\n" /* tls */
        "  mov x4, xzr\n" /* child_tid */
        "  mov x8, #220\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  mov x29, xzr\n"
        "  mov x30, xzr\n"
        "  ldp x1, x0, [sp], #16\n"
        "  blr x1\n"
        "  mov x8, #93\n"
        "  svc #0\n"
        "  brk #0\n"
        "1: ret\n"
        ".size mfs_clone, .-mfs_clone\n");
#endif

struct child {
  struct plan plan;
  struct arena arena;
  struct mfs_report *report;
  i32 fds[3];
  /* joining a running container (exec): its pid namespace, the second stack, the process made */
  i32 join_pidns;
  u8 *inner_stack;
  long inner_pid;
};

static void fail_setup(struct mfs_report *r, long err, const char *call) {
  r->state = STATE_FAILED;
  r->step = -1;
  r->err = (i32)-err;
  r->exit_code = EXIT_RUNTIME;
  r->call_failed = 1;
  struct text t;
  text_init(&t, r->detail, sizeof r->detail);
  text_str(&t, call);
}

/* Gives fds 0-2 to the container and closes every other descriptor of the sandbox's. */
static int setup_stdio(struct child *ch) {
  for (int i = 0; i < 3; i++) {
    long fd = ch->fds[i];
    if (fd < 0) {
      fd = sys4(NR_openat, AT_FDCWD, "/dev/null", O_RDWR, 0);
      if (SYS_FAILED(fd)) return fail_setup(ch->report, fd, "open(/dev/null)"), -1;
    }
    long r = fd == i ? sys3(NR_fcntl, i, F_SETFD, 0) : sys3(NR_dup3, fd, i, 0);
    if (SYS_FAILED(r)) return fail_setup(ch->report, r, "dup3(stdio)"), -1;
  }
  long r = sys3(NR_close_range, 3, ~0U, 0);
  if (SYS_FAILED(r)) {
    /* before Linux 5.9: mark them close-on-exec one by one, up to the descriptor limit */
    u64 lim[2] = {0, 0};
    sys4(NR_prlimit64, 0, 7 /* RLIMIT_NOFILE */, 0, lim);
    u64 max = lim[0] && lim[0] < (1u << 20) ? lim[0] : (1u << 20);
    for (u64 fd = 3; fd < max; fd++) sys3(NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
  return 0;
}

/* After join_main: reaps it, and hands over the process it made (a child of ours, so its pid
   cannot be reused before we reap it: pidfd_open is safe). */
static long take_inner(struct child *ch, i32 outer_pidfd, i32 *pidfd_out) {
  i32 info[32];
  sys5(NR_waitid, P_PIDFD, outer_pidfd, info, WEXITED, 0);
  sys1(NR_close, outer_pidfd);
  *pidfd_out = -1;
  if (ch->inner_pid <= 0) return -ESRCH; /* the report says why (set by join_main) */
  long fd = sys2(NR_pidfd_open, ch->inner_pid, 0);
  if (SYS_FAILED(fd)) return fail_setup(ch->report, fd, "pidfd_open"), fd;
  *pidfd_out = (i32)fd;
  return ch->inner_pid;
}

static int child_main(void *arg) {
  struct child *ch = arg;
  ch->report->state = STATE_RUNNING;
  ch->report->began_ns = monotonic_ns();
  /* The sandbox's signal handlers live in the memory this child shares: none may run here. All
     signals are blocked (by mfs_start) until execve, and every disposition goes back to the
     default, which is also what a fresh program expects (Node ignores SIGPIPE). */
  struct mfs_sigaction dfl = {0, 0, 0, 0};
  for (int sig = 1; sig <= 64; sig++)
    if (sig != 9 && sig != 19) sys4(NR_rt_sigaction, sig, &dfl, 0, 8);
  if (setup_stdio(ch)) return EXIT_RUNTIME;
  run_steps(&ch->plan, &ch->arena, ch->report);
  return ch->report->state == STATE_DONE ? 0 : ch->report->exit_code;
}

static int child_main(void *arg);

/*
 * exec into a running container: this intermediate child (sharing the sandbox's memory) enters the
 * container's pid namespace, which only its children can be in, clones the process that runs the
 * steps as a child of the sandbox (CLONE_PARENT), and exits once that one has exec'd or failed.
 * Doing the setns here leaves the sandbox's own threads untouched.
 */
static int join_main(void *arg) {
  struct child *ch = arg;
  long r = sys2(NR_setns, ch->join_pidns, 0x20000000 /* CLONE_NEWPID */);
  if (SYS_FAILED(r)) return fail_setup(ch->report, r, "setns(pid namespace)"), EXIT_RUNTIME;
  r = mfs_clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, ch->inner_stack, 0, child_main, ch);
  if (SYS_FAILED(r)) return fail_setup(ch->report, r, "clone"), EXIT_RUNTIME;
  ch->inner_pid = r;
  return 0;
}

EXPORT int mfs_abi_version(void) {
  return ABI_VERSION;
}

/* Decodes a plan without running it: 0, or -EINVAL with `why` saying what is wrong (for tests). */
EXPORT int mfs_check_plan(const u8 *plan, size_t len, char *why, size_t why_cap) {
  long mem = sys6(NR_mmap, 0, ARENA_SIZE, 3, 0x22 | 0x4000, -1, 0);
  if (SYS_FAILED(mem)) return (int)mem;
  struct arena a = {(u8 *)mem, ARENA_SIZE, 0};
  struct plan p;
  if (why_cap) why[0] = 0;
  int r = plan_decode(plan, len, &a, &p, why, why_cap);
  sys2(NR_munmap, mem, ARENA_SIZE);
  return r;
}

/*
 * Starts a container process. plan/len: the serialized plan; fds: the container's stdin, stdout
 * and stderr (stdin -1: /dev/null; the others must not be 0-2 unless they are already in place);
 * ns_flags: the CLONE_NEW* namespaces to create; join_pidns: -1, or (exec) a descriptor of the pid
 * namespace to make the process in (then ns_flags must be 0). Returns the process's pid, with its
 * pidfd in *pidfd_out (the report says whether it exec'd or failed), or -errno when no process was
 * made (the report's detail says why).
 */
EXPORT long mfs_start(const u8 *plan, size_t len, const i32 *fds, unsigned long ns_flags, i32 join_pidns, struct mfs_report *report, i32 *pidfd_out) {
  report->state = STATE_NEW;
  report->step = -1;
  report->err = 0;
  report->exit_code = 0;
  report->call_failed = 0;
  report->detail[0] = 0;
  if (ns_flags & ~(unsigned long)NS_FLAGS_ALLOWED || (join_pidns >= 0 && ns_flags)) return fail_setup(report, -EINVAL, "namespace flags"), -EINVAL;
  for (int i = 0; i < 3; i++)
    if (fds[i] != i && (fds[i] < 3 && !(i == 0 && fds[i] == -1))) return fail_setup(report, -EBADF, "stdio descriptors"), -EBADF;

  long mem = sys6(NR_mmap, 0, STACK_SIZE + ARENA_SIZE, 3 /* PROT_READ|WRITE */, 0x22 | 0x4000 /* PRIVATE|ANONYMOUS|NORESERVE */, -1, 0);
  if (SYS_FAILED(mem)) return fail_setup(report, mem, "mmap"), mem;
  struct child ch;
  ch.arena.base = (u8 *)mem + STACK_SIZE;
  ch.arena.cap = ARENA_SIZE;
  ch.arena.used = 0;
  ch.report = report;
  for (int i = 0; i < 3; i++) ch.fds[i] = fds[i];
  ch.join_pidns = join_pidns;
  ch.inner_stack = (u8 *)mem + STACK_SIZE / 2;
  ch.inner_pid = 0;
  long ret;
  if (plan_decode(plan, len, &ch.arena, &ch.plan, report->detail, sizeof report->detail)) {
    report->state = STATE_FAILED;
    report->exit_code = EXIT_RUNTIME;
    ret = -EINVAL;
  } else {
    u64 all = ~0ULL, old = 0;
    sys4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &all, &old, 8);
    ret = mfs_clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | ns_flags, (u8 *)mem + STACK_SIZE, pidfd_out, join_pidns >= 0 ? join_main : child_main, &ch);
    sys4(NR_rt_sigprocmask, 2, &old, 0, 8);
    if (SYS_FAILED(ret)) fail_setup(report, ret, "clone");
    else if (join_pidns >= 0) ret = take_inner(&ch, *pidfd_out, pidfd_out);
  }
  sys2(NR_munmap, mem, STACK_SIZE + ARENA_SIZE);
  return ret;
}

/*
 * Reaps the process behind a pidfd if it has exited, without waiting: 0 while it runs, 1 when it
 * has exited (*code: its exit status, or 128 + the signal that killed it), or -errno.
 */
EXPORT int mfs_reap(i32 pidfd, i32 *code) {
  /* siginfo_t: si_signo, si_errno, si_code, then (for SIGCHLD) si_pid at 16 and si_status at 24 */
  i32 info[32];
  for (int i = 0; i < 32; i++) info[i] = 0;
  long r = sys5(NR_waitid, P_PIDFD, pidfd, info, WEXITED | WNOHANG, 0);
  if (SYS_FAILED(r)) return (int)r;
  if (info[4] == 0) return 0;
  *code = info[2] == CLD_EXITED ? info[6] : 128 + info[6];
  return 1;
}
