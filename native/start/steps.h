#ifndef MFS_STEPS_H
#define MFS_STEPS_H
#include "plan.h"
#include "report.h"

/* Runs the plan's steps in order inside the child; returns only when one failed (report filled). */
void run_steps(const struct plan *plan, struct arena *scratch, struct mfs_report *report);

/* root + a container path, with every symlink resolved as it would be inside root */
int secure_join(const char *root, const char *path, char *out, size_t cap);

#endif
