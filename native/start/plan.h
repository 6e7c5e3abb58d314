/*
 * The start plan as the sandbox serializes it (src/runtime/shim/plan-codec.ts): a linear list of
 * named steps, each one operation with positional integer and string arguments and an optional
 * blob. All numbers little-endian.
 *
 *   plan   := "MFS1" u32 count u32 total_bytes  record{count}
 *   record := u32 size  u16 op  u16 nints  u16 nstrs  u16 zero  u32 blob_len
 *             name:string  i64{nints}  string{nstrs}  u8{blob_len}
 *   string := u32 len  u8{len}  0
 *
 * Adding a step kind: a new OP_ number here and in steps.ts (a test compares the two), its
 * arguments in the table in plan.c, and its case in steps.c and in the Node executor.
 */
#ifndef MFS_PLAN_H
#define MFS_PLAN_H
#include "sys.h"

/* ints: [flags] */
#define OP_UNSHARE 1
/* (no arguments) */
#define OP_LOOPBACK_UP 2
/* ints: [nstype]  strs: [path] */
#define OP_SETNS 3
/* strs: [path, data] */
#define OP_WRITE_FILE 4
/* ints: [flags, create (0 none, 1 dir, 2 file), mode, readonly]  strs: [source, target, fstype, data, root]
   an empty string is NULL; with a root, target is a path inside it, resolved as the container would */
#define OP_MOUNT 5
/* strs: [link target, path, root] */
#define OP_SYMLINK 6
/* strs: [new root] */
#define OP_PIVOT_ROOT 7
/* strs: [name] */
#define OP_SETHOSTNAME 8
/* strs: [user spec]: name, uid, name:group or uid:gid, from /etc/passwd and /etc/group */
#define OP_RESOLVE_USER 9
/* ints: [mode]  strs: [path] */
#define OP_MKDIR_ALL 10
/* ints: [capability numbers to keep, as a bit mask] */
#define OP_LIMIT_CAPS 11
/* ints: [setgroups: 1 gives the resolved user its groups, 0 leaves them (a single-id user namespace denies setgroups)] */
#define OP_SET_USER 12
/* strs: [path] */
#define OP_CHDIR 13
/* strs: [command, PATH] */
#define OP_FIND_EXECUTABLE 14
/* (no arguments) */
#define OP_NO_NEW_PRIVS 15
/* ints: [signal] */
#define OP_PDEATHSIG 16
/* ints: [mask] */
#define OP_UMASK 17
/* ints: [argc]  strs: [argv..., env...]: HOME is added from the resolved user when env has none */
#define OP_EXEC 18
/* ints: [mode, uid, gid (-1: the creator's)]  strs: [path]: one directory, exactly this mode */
#define OP_MKDIR 19
/* strs: [path of the pty slave inside the container, or ""]: fds 0-2 reopened there, owned by the resolved user, the controlling terminal of a new session (`-t`) */
#define OP_CONTROLLING_TERMINAL 20
/* strs: [root, path]: the path inside root (skipped when missing) bound onto itself, read-only with its submounts */
#define OP_READONLY_PATH 21
/* strs: [root, path]: the path inside root (skipped when missing) hidden: a directory under an empty
   read-only tmpfs, anything else under /dev/null */
#define OP_MASK_PATH 22
/* ints: [instruction count]  blob: struct sock_filter[count]: installed with PR_SET_SECCOMP */
#define OP_SECCOMP 23
#define OP_MAX 23

struct op {
  u16 code, nints, nstrs;
  u32 blob_len;
  const char *name;
  const u8 *ints;
  const char **strs;
  const u8 *blob;
};

struct plan {
  u32 count;
  struct op *ops;
};

/* A bump allocator over memory the caller mapped: the plan's tables, the child's file buffers. */
struct arena {
  u8 *base;
  size_t cap, used;
};
void *arena_alloc(struct arena *a, size_t n);

/* 0, or -EINVAL with `why` (at most why_cap bytes) saying what is wrong */
int plan_decode(const u8 *buf, size_t len, struct arena *a, struct plan *out, char *why, size_t why_cap);
i64 op_int(const struct op *o, int i);
/* a string argument, NULL when it is empty */
const char *op_str_or_null(const struct op *o, int i);

#endif
