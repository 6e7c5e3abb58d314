/*
 * The executor of a start plan's steps, run by the container's first process before it execs
 * (the same operations as src/runtime/shim/run-steps.ts, the Node fallback). Every failure fills
 * the report with the step, the call and its errno.
 */
#include "steps.h"
#include "text.h"
#include "user.h"

#define PATH_CAP 4096

struct ctx {
  struct arena *scratch;
  struct mfs_report *report;
  const struct op *op;
  struct user user;
  int have_user;
  char file[PATH_CAP];
  int have_file;
};

/* ---- failures ---- */

static struct text detail(struct ctx *c, long err, int exit_code, int call_failed) {
  c->report->err = (i32)(err < 0 ? -err : err);
  c->report->exit_code = exit_code;
  c->report->call_failed = call_failed;
  c->report->state = STATE_FAILED;
  struct text t;
  text_init(&t, c->report->detail, sizeof c->report->detail);
  return t;
}

/* "call(arg)" failed with err */
static int fail1(struct ctx *c, long err, const char *call, const char *arg) {
  struct text t = detail(c, err, EXIT_RUNTIME, 1);
  text_str(&t, call);
  text_str(&t, "(");
  text_str(&t, arg);
  text_str(&t, ")");
  return -1;
}

static int fail_mount(struct ctx *c, long err, const char *src, const char *target, const char *fstype, unsigned long flags, const char *data) {
  struct text t = detail(c, err, EXIT_RUNTIME, 1);
  text_str(&t, "mount(");
  text_str(&t, src ? src : "null");
  text_str(&t, ", ");
  text_str(&t, target);
  text_str(&t, ", ");
  text_str(&t, fstype ? fstype : "null");
  text_str(&t, ", ");
  text_hex(&t, flags);
  text_str(&t, ", ");
  text_str(&t, data ? data : "");
  text_str(&t, ")");
  return -1;
}

/* ---- paths ---- */

static int exists(const char *path, int follow, u16 *mode) {
  struct mfs_statx st;
  long r = sys5(NR_statx, AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, &st);
  if (SYS_FAILED(r)) return 0;
  if (mode) *mode = st.mode;
  return 1;
}

int secure_join(const char *root, const char *path, char *out, size_t cap) {
  /* `resolved` is the part below root found so far; `rest` what is still to walk */
  char resolved[PATH_CAP] = "", rest[2 * PATH_CAP], link[PATH_CAP], candidate[2 * PATH_CAP];
  if (str_copy(rest, sizeof rest, path)) return -ENAMETOOLONG;
  int links = 0;
  size_t pos = 0;
  for (;;) {
    while (rest[pos] == '/') pos++;
    if (!rest[pos]) break;
    size_t start = pos;
    while (rest[pos] && rest[pos] != '/') pos++;
    char part[PATH_CAP];
    size_t plen = pos - start;
    if (plen >= sizeof part) return -ENAMETOOLONG;
    for (size_t i = 0; i < plen; i++) part[i] = rest[start + i];
    part[plen] = 0;
    if (str_eq(part, ".")) continue;
    if (str_eq(part, "..")) {
      size_t n = str_len(resolved);
      while (n && resolved[n - 1] != '/') n--;
      if (n) n--; /* drop the separating slash too */
      resolved[n] = 0;
      continue;
    }
    candidate[0] = 0;
    if (str_append(candidate, sizeof candidate, root) || str_append(candidate, sizeof candidate, resolved) ||
        str_append(candidate, sizeof candidate, "/") || str_append(candidate, sizeof candidate, part))
      return -ENAMETOOLONG;
    u16 mode = 0;
    /* a missing component is created later as a plain directory or file */
    if (!exists(candidate, 0, &mode) || (mode & S_IFMT) != S_IFLNK) {
      if (str_append(resolved, sizeof resolved, "/") || str_append(resolved, sizeof resolved, part)) return -ENAMETOOLONG;
      continue;
    }
    if (++links > 40) return -ELOOP;
    long n = sys4(NR_readlinkat, AT_FDCWD, candidate, link, sizeof link - 1);
    if (SYS_FAILED(n)) return (int)n;
    link[n] = 0;
    if (link[0] == '/') resolved[0] = 0;
    /* the link's target, then what was left of the path */
    char next[2 * PATH_CAP];
    if (str_copy(next, sizeof next, link) || str_append(next, sizeof next, "/") || str_append(next, sizeof next, rest + pos))
      return -ENAMETOOLONG;
    str_copy(rest, sizeof rest, next);
    pos = 0;
  }
  if (str_copy(out, cap, root) || str_append(out, cap, resolved)) return -ENAMETOOLONG;
  if (!out[0]) str_copy(out, cap, "/");
  return 0;
}

/* mkdir -p, one system call when the parent exists; existing directories (and symlinks to them) are fine */
static long mkdir_all(char *path, u32 mode) {
  long r = sys3(NR_mkdirat, AT_FDCWD, path, mode);
  if (!SYS_FAILED(r) || r == -EEXIST) return 0;
  if (r != -ENOENT) return r;
  char *slash = 0;
  for (char *p = path + 1; *p; p++)
    if (*p == '/') slash = p;
  if (!slash) return r;
  *slash = 0;
  r = mkdir_all(path, mode);
  *slash = '/';
  if (r) return r;
  r = sys3(NR_mkdirat, AT_FDCWD, path, mode);
  return SYS_FAILED(r) && r != -EEXIST ? r : 0;
}

static long ensure_file(char *path, u32 mode) {
  if (exists(path, 1, 0)) return 0;
  char *slash = 0;
  for (char *p = path; *p; p++)
    if (*p == '/') slash = p;
  if (slash && slash != path) {
    *slash = 0;
    long r = mkdir_all(path, 0755);
    *slash = '/';
    if (r) return r;
  }
  long fd = sys4(NR_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, mode);
  if (SYS_FAILED(fd)) return fd;
  sys1(NR_close, fd);
  return 0;
}

/* ---- steps ---- */

static int step_unshare(struct ctx *c) {
  long r = sys1(NR_unshare, op_int(c->op, 0));
  if (SYS_FAILED(r)) {
    struct text t = detail(c, r, EXIT_RUNTIME, 1);
    text_str(&t, "unshare(");
    text_hex(&t, (unsigned long)op_int(c->op, 0));
    text_str(&t, ")");
    return -1;
  }
  return 0;
}

#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define TIOCSCTTY 0x540E
#define AT_EMPTY_PATH 0x1000

static int step_loopback_up(struct ctx *c) {
  long fd = sys3(NR_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return fail1(c, fd, "socket", "AF_INET, SOCK_DGRAM");
  u8 ifr[40] = {'l', 'o'};
  long r = sys3(NR_ioctl, fd, SIOCGIFFLAGS, ifr);
  if (SYS_FAILED(r)) {
    sys1(NR_close, fd);
    return fail1(c, r, "ioctl", "lo, SIOCGIFFLAGS");
  }
  ifr[16] |= 1; /* IFF_UP */
  r = sys3(NR_ioctl, fd, SIOCSIFFLAGS, ifr);
  sys1(NR_close, fd);
  return SYS_FAILED(r) ? fail1(c, r, "ioctl", "lo, SIOCSIFFLAGS") : 0;
}

static int step_setns(struct ctx *c) {
  const char *path = c->op->strs[0];
  long fd = sys4(NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return fail1(c, fd, "open", path);
  long r = sys2(NR_setns, fd, op_int(c->op, 0));
  sys1(NR_close, fd);
  return SYS_FAILED(r) ? fail1(c, r, "setns", path) : 0;
}

static int step_write_file(struct ctx *c) {
  const char *path = c->op->strs[0], *data = c->op->strs[1];
  long fd = sys4(NR_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return fail1(c, fd, "open", path);
  long r = sys3(NR_write, fd, data, str_len(data));
  sys1(NR_close, fd);
  return SYS_FAILED(r) ? fail1(c, r, "write", path) : 0;
}

/* A read-only bind remount must repeat the flags the kernel locked on the source mount. statfs
   reports them as ST_* bits: the same values as MS_* except for relatime. */
#define ST_RELATIME 4096
static unsigned long locked_flags(const char *target) {
  struct mfs_statfs st;
  if (SYS_FAILED(sys2(NR_statfs, target, &st))) return 0;
  unsigned long f = (unsigned long)st.f_flags;
  unsigned long out = f & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME);
  if (f & ST_RELATIME) out |= MS_RELATIME;
  else if (!(f & MS_NOATIME)) out |= MS_STRICTATIME;
  return out;
}

static int step_mount(struct ctx *c) {
  const struct op *o = c->op;
  unsigned long flags = (unsigned long)op_int(o, 0);
  i64 create = op_int(o, 1), mode = op_int(o, 2), readonly = op_int(o, 3);
  const char *src = op_str_or_null(o, 0), *fstype = op_str_or_null(o, 2), *data = op_str_or_null(o, 3), *root = op_str_or_null(o, 4);
  char target[PATH_CAP];
  if (root) {
    int r = secure_join(root, o->strs[1], target, sizeof target);
    if (r) return fail1(c, r, "resolve", o->strs[1]);
  } else if (str_copy(target, sizeof target, o->strs[1])) {
    return fail1(c, -ENAMETOOLONG, "resolve", o->strs[1]);
  }
  if (create == 1) {
    long r = mkdir_all(target, (u32)mode);
    if (r) return fail1(c, r, "mkdir", target);
  } else if (create == 2) {
    long r = ensure_file(target, (u32)mode);
    if (r) return fail1(c, r, "create", target);
  }
  long r = sys5(NR_mount, src, target, fstype, flags, data);
  if (SYS_FAILED(r)) return fail_mount(c, r, src, target, fstype, flags, data);
  if (!readonly) return 0;
  unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(target);
  r = sys5(NR_mount, 0, target, 0, ro, 0);
  return SYS_FAILED(r) ? fail_mount(c, r, 0, target, 0, ro, 0) : 0;
}

/* Docker's read-only paths: a bind of the path onto itself, then read-only all the way down
   (mount_setattr, Linux 5.12+; before it, the top mount only, repeating its locked flags). */
static int step_readonly_path(struct ctx *c) {
  char target[PATH_CAP];
  int r = secure_join(c->op->strs[0], c->op->strs[1], target, sizeof target);
  if (r) return fail1(c, r, "resolve", c->op->strs[1]);
  if (!exists(target, 0, 0)) return 0;
  long m = sys5(NR_mount, target, target, 0, MS_BIND | MS_REC, 0);
  if (SYS_FAILED(m)) return fail_mount(c, m, target, target, 0, MS_BIND | MS_REC, 0);
  struct mfs_mount_attr attr = {MOUNT_ATTR_RDONLY, 0, 0, 0};
  m = sys5(NR_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr);
  if (!SYS_FAILED(m)) return 0;
  if (m != -ENOSYS) return fail1(c, m, "mount_setattr", target);
  unsigned long ro = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(target);
  m = sys5(NR_mount, 0, target, 0, ro, 0);
  return SYS_FAILED(m) ? fail_mount(c, m, 0, target, 0, ro, 0) : 0;
}

/* Docker's masked paths: a directory gets an empty read-only tmpfs, anything else /dev/null */
static int step_mask_path(struct ctx *c) {
  char target[PATH_CAP];
  int r = secure_join(c->op->strs[0], c->op->strs[1], target, sizeof target);
  if (r) return fail1(c, r, "resolve", c->op->strs[1]);
  u16 mode = 0;
  if (!exists(target, 0, &mode)) return 0;
  unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  long m = (mode & S_IFMT) == S_IFDIR ? sys5(NR_mount, "tmpfs", target, "tmpfs", flags, "size=0,mode=555") : sys5(NR_mount, "/dev/null", target, 0, MS_BIND, 0);
  if (!SYS_FAILED(m)) return 0;
  return (mode & S_IFMT) == S_IFDIR ? fail_mount(c, m, "tmpfs", target, "tmpfs", flags, "size=0,mode=555") : fail_mount(c, m, "/dev/null", target, 0, MS_BIND, 0);
}

/* the seccomp filter the plan carries (sock_filter records, 8 bytes each), for this thread and what it execs */
static int step_seccomp(struct ctx *c) {
  i64 n = op_int(c->op, 0);
  if (n < 1 || n > 4096 || (u64)n * 8 != c->op->blob_len) return fail1(c, -EINVAL, "seccomp", "filter length");
  struct mfs_sock_fprog prog = {(u16)n, c->op->blob};
  long r = sys5(NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
  return SYS_FAILED(r) ? fail1(c, r, "prctl", "PR_SET_SECCOMP") : 0;
}

static int step_symlink(struct ctx *c) {
  char path[PATH_CAP];
  int r = secure_join(c->op->strs[2], c->op->strs[1], path, sizeof path);
  if (r) return fail1(c, r, "resolve", c->op->strs[1]);
  long s = sys3(NR_symlinkat, c->op->strs[0], AT_FDCWD, path);
  return SYS_FAILED(s) ? fail1(c, s, "symlink", path) : 0;
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the container's */
static int step_pivot_root(struct ctx *c) {
  const char *root = c->op->strs[0];
  long r = sys1(NR_chdir, root);
  if (SYS_FAILED(r)) return fail1(c, r, "chdir", root);
  r = sys2(NR_pivot_root, ".", ".");
  if (SYS_FAILED(r)) return fail1(c, r, "pivot_root", root);
  r = sys2(NR_umount2, ".", MNT_DETACH);
  if (SYS_FAILED(r)) return fail1(c, r, "umount2", "old root");
  r = sys1(NR_chdir, "/");
  return SYS_FAILED(r) ? fail1(c, r, "chdir", "/") : 0;
}

static int step_sethostname(struct ctx *c) {
  const char *name = c->op->strs[0];
  long r = sys2(NR_sethostname, name, str_len(name));
  return SYS_FAILED(r) ? fail1(c, r, "sethostname", name) : 0;
}

static int step_resolve_user(struct ctx *c) {
  char why[512] = "";
  int r = resolve_user(c->op->strs[0], c->scratch, &c->user, why, sizeof why);
  if (r == -ENOENT && why[0]) {
    struct text t = detail(c, 0, EXIT_RUNTIME, 0);
    text_str(&t, why);
    return -1;
  }
  if (r) return fail1(c, r, "read", r == -E2BIG ? "/etc/passwd or /etc/group (too large)" : "/etc/passwd, /etc/group");
  c->have_user = 1;
  return 0;
}

static int step_mkdir_all(struct ctx *c) {
  char path[PATH_CAP];
  if (str_copy(path, sizeof path, c->op->strs[0])) return fail1(c, -ENAMETOOLONG, "mkdir", c->op->strs[0]);
  long r = mkdir_all(path, (u32)op_int(c->op, 0));
  return r ? fail1(c, r, "mkdir", path) : 0;
}

static int step_mkdir(struct ctx *c) {
  const char *path = c->op->strs[0];
  i64 mode = op_int(c->op, 0), uid = op_int(c->op, 1), gid = op_int(c->op, 2);
  long r = sys3(NR_mkdirat, AT_FDCWD, path, mode);
  if (SYS_FAILED(r)) return fail1(c, r, "mkdir", path);
  r = sys4(NR_fchmodat, AT_FDCWD, path, mode, 0); /* what the umask took away */
  if (SYS_FAILED(r)) return fail1(c, r, "chmod", path);
  if (uid < 0) return 0;
  r = sys5(NR_fchownat, AT_FDCWD, path, uid, gid, 0);
  return SYS_FAILED(r) ? fail1(c, r, "chown", path) : 0;
}

static int read_small_number(const char *path, long *out) {
  long fd = sys4(NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (SYS_FAILED(fd)) return (int)fd;
  char buf[32];
  long n = sys3(NR_read, fd, buf, sizeof buf - 1);
  sys1(NR_close, fd);
  if (SYS_FAILED(n)) return (int)n;
  size_t len = 0;
  while (len < (size_t)n && buf[len] >= '0' && buf[len] <= '9') len++;
  *out = parse_id(buf, len);
  return *out < 0 ? -EINVAL : 0;
}

static int step_limit_caps(struct ctx *c) {
  u64 keep = (u64)op_int(c->op, 0);
  long last;
  int r = read_small_number("/proc/sys/kernel/cap_last_cap", &last);
  if (r) return fail1(c, r, "read", "/proc/sys/kernel/cap_last_cap");
  for (long cap = 0; cap <= last && cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    long p = sys5(NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (SYS_FAILED(p)) {
      struct text t = detail(c, p, EXIT_RUNTIME, 1);
      text_str(&t, "prctl(PR_CAPBSET_DROP, ");
      text_dec(&t, cap);
      text_str(&t, ")");
      return -1;
    }
  }
  long p = sys5(NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return SYS_FAILED(p) ? fail1(c, p, "prctl", "PR_CAP_AMBIENT_CLEAR_ALL") : 0;
}

static int step_set_user(struct ctx *c) {
  if (!c->have_user) return fail1(c, -EINVAL, "set user", "no user resolved before");
  struct user *u = &c->user;
  long r = op_int(c->op, 0) ? sys2(NR_setgroups, u->ngroups, u->groups) : 0;
  if (SYS_FAILED(r)) {
    struct text t = detail(c, r, EXIT_RUNTIME, 1);
    text_str(&t, "setgroups(");
    for (u32 i = 0; i < u->ngroups; i++) {
      if (i) text_str(&t, ",");
      text_dec(&t, u->groups[i]);
    }
    text_str(&t, ")");
    return -1;
  }
  char id[16];
  struct text t;
  r = sys3(NR_setresgid, u->gid, u->gid, u->gid);
  if (SYS_FAILED(r)) {
    text_init(&t, id, sizeof id);
    text_dec(&t, u->gid);
    return fail1(c, r, "setresgid", id);
  }
  r = sys3(NR_setresuid, u->uid, u->uid, u->uid);
  if (SYS_FAILED(r)) {
    text_init(&t, id, sizeof id);
    text_dec(&t, u->uid);
    return fail1(c, r, "setresuid", id);
  }
  return 0;
}

static int step_chdir(struct ctx *c) {
  const char *path = c->op->strs[0];
  long r = sys1(NR_chdir, path);
  if (!SYS_FAILED(r)) return 0;
  struct text t = detail(c, r, EXIT_NOT_EXECUTABLE, 1);
  text_str(&t, "cannot enter working directory ");
  text_str(&t, path);
  text_str(&t, ": chdir(");
  text_str(&t, path);
  text_str(&t, ")");
  return -1;
}

/* 1 when `candidate` is the executable; else notes the first existing one that is not in `denied` */
static int try_candidate(struct ctx *c, const char *candidate, char *denied, size_t denied_cap) {
  u16 mode;
  if (!exists(candidate, 1, &mode)) return 0;
  if ((mode & S_IFMT) != S_IFDIR && !SYS_FAILED(sys4(NR_faccessat, AT_FDCWD, candidate, X_OK, 0))) {
    str_copy(c->file, sizeof c->file, candidate);
    c->have_file = 1;
    return 1;
  }
  if (!denied[0]) str_copy(denied, denied_cap, candidate);
  return 0;
}

/* argv[0] found the way execvp does, with the container's PATH, as the container's user */
static int step_find_executable(struct ctx *c) {
  const char *command = c->op->strs[0], *path = c->op->strs[1];
  int has_slash = 0;
  for (const char *p = command; *p; p++)
    if (*p == '/') has_slash = 1;
  char denied[PATH_CAP] = "", candidate[PATH_CAP];
  if (has_slash) {
    if (try_candidate(c, command, denied, sizeof denied)) return 0;
  } else {
    for (const char *dir = path;;) {
      const char *end = dir;
      while (*end && *end != ':') end++;
      size_t dlen = (size_t)(end - dir);
      /* empty entries are skipped, as the Node shim does */
      if (dlen && dlen + str_len(command) + 2 < sizeof candidate) {
        for (size_t i = 0; i < dlen; i++) candidate[i] = dir[i];
        candidate[dlen] = 0;
        if (candidate[dlen - 1] != '/') str_append(candidate, sizeof candidate, "/");
        str_append(candidate, sizeof candidate, command);
        if (try_candidate(c, candidate, denied, sizeof denied)) return 0;
      }
      if (!*end) break;
      dir = end + 1;
    }
  }
  if (denied[0]) {
    struct text t = detail(c, 0, EXIT_NOT_EXECUTABLE, 0);
    text_str(&t, "exec: \"");
    text_str(&t, command);
    text_str(&t, "\": permission denied (");
    text_str(&t, denied);
    text_str(&t, " is not executable)");
    return -1;
  }
  struct text t = detail(c, 0, EXIT_NOT_FOUND, 0);
  text_str(&t, "exec: \"");
  text_str(&t, command);
  text_str(&t, has_slash ? "\": no such file or directory" : "\": executable file not found in $PATH");
  return -1;
}

static int step_prctl(struct ctx *c, int option, long arg, const char *what) {
  long r = sys5(NR_prctl, option, arg, 0, 0, 0);
  return SYS_FAILED(r) ? fail1(c, r, "prctl", what) : 0;
}

static int step_exec(struct ctx *c) {
  const struct op *o = c->op;
  i64 argc = op_int(o, 0);
  if (argc < 1 || argc > o->nstrs) return fail1(c, -EINVAL, "exec", "bad argument count");
  size_t nenv = o->nstrs - (size_t)argc;
  const char **argv = arena_alloc(c->scratch, sizeof(char *) * ((size_t)argc + 1));
  const char **envp = arena_alloc(c->scratch, sizeof(char *) * (nenv + 2));
  char *home = arena_alloc(c->scratch, sizeof c->user.home + 8);
  if (!argv || !envp || !home) return fail1(c, -E2BIG, "exec", "arguments");
  for (i64 i = 0; i < argc; i++) argv[i] = o->strs[i];
  argv[argc] = 0;
  int has_home = 0;
  size_t n = 0;
  for (size_t i = 0; i < nenv; i++) {
    envp[n++] = o->strs[argc + i];
    if (str_starts(o->strs[argc + i], "HOME=")) has_home = 1;
  }
  if (!has_home) {
    str_copy(home, sizeof c->user.home + 8, "HOME=");
    str_append(home, sizeof c->user.home + 8, c->have_user ? c->user.home : "/");
    envp[n++] = home;
  }
  envp[n] = 0;
  const char *file = c->have_file ? c->file : argv[0];
  u64 none = 0;
  c->report->state = STATE_EXEC;
  sys4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
  long r = sys3(NR_execve, file, argv, envp);
  /* still here: block signals again until the exit (nothing of the sandbox may run in this child) */
  u64 all = ~0ULL;
  sys4(NR_rt_sigprocmask, 2, &all, 0, 8);
  struct text t = detail(c, r, r == -ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE, r != -ENOEXEC);
  text_str(&t, "exec ");
  text_str(&t, file);
  text_str(&t, r == -ENOEXEC ? ": exec format error" : ": execve(");
  if (r != -ENOEXEC) {
    text_str(&t, file);
    text_str(&t, ")");
  }
  return -1;
}

/* `-t`: fds 0-2 are a pty slave of the container's devpts. Reopened by its path inside the
   container (the sandbox opened it through its own mounts: /proc/self/fd would name those), owned
   by the container's user (resolved before) as a login terminal is, then the controlling
   terminal of a new session, so Ctrl-C on it signals the foreground process group. */
static int step_controlling_terminal(struct ctx *c) {
  const char *path = op_str_or_null(c->op, 0);
  long r = sys0(NR_setsid);
  if (SYS_FAILED(r)) return fail1(c, r, "setsid", "");
  if (path) {
    long fd = sys4(NR_openat, AT_FDCWD, path, O_RDWR | O_NOCTTY, 0);
    if (SYS_FAILED(fd)) return fail1(c, fd, "open", path);
    for (int i = 0; i < 3; i++) {
      r = sys3(NR_dup3, fd, i, 0);
      if (SYS_FAILED(r)) return fail1(c, r, "dup3", path);
    }
    if (fd > 2) sys1(NR_close, fd);
  }
  if (c->have_user) {
    r = sys5(NR_fchownat, 0, "", c->user.uid, -1, AT_EMPTY_PATH);
    if (SYS_FAILED(r)) return fail1(c, r, "fchown", "the terminal");
  }
  r = sys3(NR_ioctl, 0, TIOCSCTTY, 0);
  if (SYS_FAILED(r)) return fail1(c, r, "ioctl", "TIOCSCTTY");
  return 0;
}

static int run_one(struct ctx *c) {
  switch (c->op->code) {
  case OP_UNSHARE: return step_unshare(c);
  case OP_LOOPBACK_UP: return step_loopback_up(c);
  case OP_SETNS: return step_setns(c);
  case OP_WRITE_FILE: return step_write_file(c);
  case OP_MOUNT: return step_mount(c);
  case OP_SYMLINK: return step_symlink(c);
  case OP_PIVOT_ROOT: return step_pivot_root(c);
  case OP_SETHOSTNAME: return step_sethostname(c);
  case OP_RESOLVE_USER: return step_resolve_user(c);
  case OP_MKDIR_ALL: return step_mkdir_all(c);
  case OP_LIMIT_CAPS: return step_limit_caps(c);
  case OP_SET_USER: return step_set_user(c);
  case OP_CHDIR: return step_chdir(c);
  case OP_FIND_EXECUTABLE: return step_find_executable(c);
  case OP_NO_NEW_PRIVS: return step_prctl(c, PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS");
  case OP_PDEATHSIG: return step_prctl(c, PR_SET_PDEATHSIG, (long)op_int(c->op, 0), "PR_SET_PDEATHSIG");
  case OP_UMASK: sys1(NR_umask, op_int(c->op, 0)); return 0;
  case OP_EXEC: return step_exec(c);
  case OP_MKDIR: return step_mkdir(c);
  case OP_CONTROLLING_TERMINAL: return step_controlling_terminal(c);
  case OP_READONLY_PATH: return step_readonly_path(c);
  case OP_MASK_PATH: return step_mask_path(c);
  case OP_SECCOMP: return step_seccomp(c);
  }
  return fail1(c, -EINVAL, "step", "unknown kind");
}

void run_steps(const struct plan *plan, struct arena *scratch, struct mfs_report *report) {
  static const struct ctx zero;
  struct ctx c = zero;
  c.scratch = scratch;
  c.report = report;
  for (u32 i = 0; i < plan->count; i++) {
    report->step = (i32)i;
    c.op = &plan->ops[i];
    if (run_one(&c)) return;
    if (i < MFS_TIMED_STEPS) report->step_end_ns[i] = monotonic_ns();
  }
  report->state = STATE_DONE;
}
