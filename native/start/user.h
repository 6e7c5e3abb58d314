/* Resolves a container's user (`name`, `uid`, `name:group`, `uid:gid`) from its /etc/passwd and
   /etc/group, with the rules of src/runtime/user.ts (Docker's). */
#ifndef MFS_USER_H
#define MFS_USER_H
#include "plan.h"

#define MFS_MAX_GROUPS 256

struct user {
  u32 uid, gid;
  u32 ngroups;
  u32 groups[MFS_MAX_GROUPS];
  char home[1024];
};

/* 0, or a negative errno; `why` gets a message when the name is unknown (then -ENOENT) */
int resolve_user(const char *spec, struct arena *scratch, struct user *out, char *why, size_t why_cap);

#endif
