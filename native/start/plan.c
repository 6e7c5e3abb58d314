#include "plan.h"
#include "text.h"

/* how many ints and strings each operation needs at least */
static const struct {
  u16 ints, strs;
} shapes[OP_MAX + 1] = {
  [OP_UNSHARE] = {1, 0},       [OP_LOOPBACK_UP] = {0, 0},    [OP_SETNS] = {1, 1},      [OP_WRITE_FILE] = {0, 2},
  [OP_MOUNT] = {4, 5},         [OP_SYMLINK] = {0, 3},        [OP_PIVOT_ROOT] = {0, 1}, [OP_SETHOSTNAME] = {0, 1},
  [OP_RESOLVE_USER] = {0, 1},  [OP_MKDIR_ALL] = {1, 1},      [OP_LIMIT_CAPS] = {1, 0}, [OP_SET_USER] = {1, 0},
  [OP_CHDIR] = {0, 1},         [OP_FIND_EXECUTABLE] = {0, 2}, [OP_NO_NEW_PRIVS] = {0, 0}, [OP_PDEATHSIG] = {1, 0},
  [OP_UMASK] = {1, 0},         [OP_EXEC] = {1, 1},           [OP_MKDIR] = {3, 1},      [OP_CONTROLLING_TERMINAL] = {0, 1},
  [OP_READONLY_PATH] = {0, 2}, [OP_MASK_PATH] = {0, 2},      [OP_SECCOMP] = {1, 0},
};

void *arena_alloc(struct arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n > a->cap - a->used) return 0;
  void *p = a->base + a->used;
  a->used += n;
  return p;
}

static u32 rd32(const u8 *p) {
  return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u16 rd16(const u8 *p) {
  return (u16)(p[0] | p[1] << 8);
}

i64 op_int(const struct op *o, int i) {
  const u8 *p = o->ints + 8 * i;
  return (i64)((u64)rd32(p) | (u64)rd32(p + 4) << 32);
}

const char *op_str_or_null(const struct op *o, int i) {
  return o->strs[i][0] ? o->strs[i] : 0;
}

static int bad(char *why, size_t cap, const char *what, long at) {
  struct text t;
  text_init(&t, why, cap);
  text_str(&t, what);
  text_str(&t, " at byte ");
  text_dec(&t, at);
  return -EINVAL;
}

/* reads a string at *pos within [.., end): checks its length and its terminating zero */
static const char *take_string(const u8 *buf, size_t *pos, size_t end) {
  if (end - *pos < 4) return 0;
  u32 n = rd32(buf + *pos);
  if (n > end - *pos - 4 || end - *pos - 4 - n < 1 || buf[*pos + 4 + n] != 0) return 0;
  const char *s = (const char *)buf + *pos + 4;
  for (u32 i = 0; i < n; i++)
    if (!s[i]) return 0; /* an embedded zero would cut the string short */
  *pos += 4 + n + 1;
  return s;
}

int plan_decode(const u8 *buf, size_t len, struct arena *a, struct plan *out, char *why, size_t why_cap) {
  if (len < 12 || buf[0] != 'M' || buf[1] != 'F' || buf[2] != 'S' || buf[3] != '1') return bad(why, why_cap, "not a start plan (magic)", 0);
  u32 count = rd32(buf + 4);
  if (rd32(buf + 8) != len) return bad(why, why_cap, "plan length does not match", 8);
  if (count > 100000) return bad(why, why_cap, "too many steps", 4);
  out->count = count;
  out->ops = arena_alloc(a, sizeof(struct op) * (count ? count : 1));
  if (!out->ops) return bad(why, why_cap, "plan too large", 4);
  size_t pos = 12;
  for (u32 k = 0; k < count; k++) {
    if (len - pos < 16) return bad(why, why_cap, "truncated step header", (long)pos);
    size_t start = pos, size = rd32(buf + pos);
    if (size < 16 || size > len - pos) return bad(why, why_cap, "bad step size", (long)pos);
    size_t end = pos + size;
    struct op *o = &out->ops[k];
    o->code = rd16(buf + pos + 4);
    o->nints = rd16(buf + pos + 6);
    o->nstrs = rd16(buf + pos + 8);
    o->blob_len = rd32(buf + pos + 12);
    pos += 16;
    if (o->code == 0 || o->code > OP_MAX) return bad(why, why_cap, "unknown step kind", (long)start);
    if (o->nints < shapes[o->code].ints || o->nstrs < shapes[o->code].strs) return bad(why, why_cap, "too few arguments for its kind", (long)start);
    if (!(o->name = take_string(buf, &pos, end))) return bad(why, why_cap, "bad step name", (long)pos);
    if ((end - pos) / 8 < o->nints) return bad(why, why_cap, "truncated integers", (long)pos);
    o->ints = buf + pos;
    pos += 8 * (size_t)o->nints;
    o->strs = arena_alloc(a, sizeof(char *) * (o->nstrs + 1));
    if (!o->strs) return bad(why, why_cap, "plan too large", (long)pos);
    for (u32 i = 0; i < o->nstrs; i++)
      if (!(o->strs[i] = take_string(buf, &pos, end))) return bad(why, why_cap, "bad string argument", (long)pos);
    o->strs[o->nstrs] = 0;
    if (end - pos != o->blob_len) return bad(why, why_cap, "blob length does not match the step size", (long)pos);
    o->blob = buf + pos;
    pos = end;
  }
  if (pos != len) return bad(why, why_cap, "trailing bytes", (long)pos);
  return 0;
}
