#include "user.h"
#include "text.h"

/* the whole file into the arena, zero-terminated; "" when it does not exist */
static int read_all(const char *path, struct arena *a, const char **out) {
  long fd = sys4(NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd == -ENOENT) {
    *out = "";
    return 0;
  }
  if (SYS_FAILED(fd)) return (int)fd;
  char *buf = (char *)(a->base + a->used);
  size_t cap = a->cap - a->used, n = 0;
  for (;;) {
    if (n + 1 >= cap) {
      sys1(NR_close, fd);
      return -E2BIG;
    }
    long r = sys3(NR_read, fd, buf + n, cap - 1 - n);
    if (r == -EINTR) continue;
    if (SYS_FAILED(r)) {
      sys1(NR_close, fd);
      return (int)r;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  sys1(NR_close, fd);
  buf[n] = 0;
  arena_alloc(a, n + 1);
  *out = buf;
  return 0;
}

/* the fields of one line split on ':', at most `max`; returns how many there are in all */
static int split_fields(const char *line, size_t len, const char **f, size_t *flen, int max) {
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || line[i] == ':') {
      if (n < max) {
        f[n] = line + start;
        flen[n] = i - start;
      }
      n++;
      start = i + 1;
    }
  }
  return n;
}

static int field_is(const char *f, size_t len, const char *s, size_t slen) {
  if (len != slen) return 0;
  for (size_t i = 0; i < len; i++)
    if (f[i] != s[i]) return 0;
  return 1;
}

/* calls fn for every line of text; stops when fn returns nonzero, and returns that */
static int each_line(const char *text, int (*fn)(const char *, size_t, void *), void *ctx) {
  const char *p = text;
  while (*p) {
    const char *e = p;
    while (*e && *e != '\n') e++;
    int r = fn(p, (size_t)(e - p), ctx);
    if (r) return r;
    p = *e ? e + 1 : e;
  }
  return 0;
}

struct passwd_query {
  const char *key;
  size_t key_len;
  int by_uid;
  long uid;
  /* the match */
  const char *name;
  size_t name_len;
  u32 uid_found, gid;
  const char *home;
  size_t home_len;
};

static int passwd_line(const char *line, size_t len, void *ctx) {
  struct passwd_query *q = ctx;
  const char *f[7];
  size_t fl[7];
  if (split_fields(line, len, f, fl, 7) < 7) return 0;
  long uid = parse_id(f[2], fl[2]), gid = parse_id(f[3], fl[3]);
  if (uid < 0 || gid < 0) return 0;
  if (q->by_uid ? uid != q->uid : !field_is(f[0], fl[0], q->key, q->key_len)) return 0;
  q->name = f[0];
  q->name_len = fl[0];
  q->uid_found = (u32)uid;
  q->gid = (u32)gid;
  q->home = f[5];
  q->home_len = fl[5];
  return 1;
}

struct group_query {
  /* find a group by name ... */
  const char *name;
  size_t name_len;
  long gid;
  /* ... or collect the groups `member` belongs to */
  const char *member;
  size_t member_len;
  struct user *user;
};

static void add_group(struct user *u, u32 gid) {
  for (u32 i = 0; i < u->ngroups; i++)
    if (u->groups[i] == gid) return;
  if (u->ngroups < MFS_MAX_GROUPS) u->groups[u->ngroups++] = gid;
}

static int group_line(const char *line, size_t len, void *ctx) {
  struct group_query *q = ctx;
  const char *f[4];
  size_t fl[4];
  if (split_fields(line, len, f, fl, 4) < 4) return 0;
  long gid = parse_id(f[2], fl[2]);
  if (gid < 0) return 0;
  if (q->name) {
    if (!field_is(f[0], fl[0], q->name, q->name_len)) return 0;
    q->gid = gid;
    return 1;
  }
  /* members: a comma-separated list in field 4 (up to the next ':' or the line's end) */
  size_t i = 0, mlen = fl[3];
  while (i < mlen) {
    size_t s = i;
    while (i < mlen && f[3][i] != ',') i++;
    if (i > s && field_is(f[3] + s, i - s, q->member, q->member_len)) {
      add_group(q->user, (u32)gid);
      break;
    }
    i++;
  }
  return 0;
}

static int not_found(char *why, size_t cap, const char *what, const char *name, size_t len, const char *file) {
  struct text t;
  text_init(&t, why, cap);
  text_str(&t, "unable to find ");
  text_str(&t, what);
  text_str(&t, " ");
  for (size_t i = 0; i < len && t.len + 1 < t.cap; i++) t.buf[t.len++] = name[i];
  t.buf[t.len] = 0;
  text_str(&t, ": no matching entries in the container's ");
  text_str(&t, file);
  return -ENOENT;
}

int resolve_user(const char *spec, struct arena *scratch, struct user *out, char *why, size_t why_cap) {
  /* `user[:group]`; like JavaScript's split(':', 2), a third part is ignored */
  const char *colon = spec;
  while (*colon && *colon != ':') colon++;
  size_t user_len = (size_t)(colon - spec);
  const char *group = *colon ? colon + 1 : 0;
  size_t group_len = 0;
  if (group)
    while (group[group_len] && group[group_len] != ':') group_len++;

  const char *passwd, *groups;
  size_t mark = scratch->used;
  int r = read_all("/etc/passwd", scratch, &passwd);
  if (r) return r;
  r = read_all("/etc/group", scratch, &groups);
  if (r) return r;

  long numeric = parse_id(spec, user_len);
  struct passwd_query pq = {.key = spec, .key_len = user_len, .by_uid = numeric >= 0, .uid = numeric};
  int found = each_line(passwd, passwd_line, &pq);
  if (!found && numeric < 0) return not_found(why, why_cap, "user", spec, user_len, "/etc/passwd");

  out->uid = found ? pq.uid_found : (u32)numeric;
  out->gid = found ? pq.gid : 0;
  if (group && group_len) {
    long g = parse_id(group, group_len);
    if (g >= 0) {
      out->gid = (u32)g;
    } else {
      struct group_query gq = {.name = group, .name_len = group_len, .gid = -1};
      if (!each_line(groups, group_line, &gq)) return not_found(why, why_cap, "group", group, group_len, "/etc/group");
      out->gid = (u32)gq.gid;
    }
  }
  out->ngroups = 0;
  add_group(out, out->gid);
  /* an explicit group (even an empty one) replaces the supplementary list, as `docker run -u user:group` */
  if (!group && found) {
    struct group_query gq = {.member = pq.name, .member_len = pq.name_len, .user = out};
    each_line(groups, group_line, &gq);
  }
  size_t hl = found ? pq.home_len : 0;
  if (hl == 0 || hl >= sizeof out->home) {
    out->home[0] = '/';
    out->home[1] = 0;
  } else {
    for (size_t i = 0; i < hl; i++) out->home[i] = pq.home[i];
    out->home[hl] = 0;
  }
  scratch->used = mark;
  return 0;
}
