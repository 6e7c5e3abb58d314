/* What the child tells the sandbox: it shares the sandbox's memory until execve, so it writes here
   directly. Mirrored by NativeReport in src/runtime/native/native-start.ts. */
#ifndef MFS_REPORT_H
#define MFS_REPORT_H
#include "sys.h"

#define STATE_NEW 0
#define STATE_RUNNING 1
#define STATE_EXEC 2   /* set just before execve: when the sandbox resumes, the program is running */
#define STATE_FAILED 3
#define STATE_DONE 4   /* the plan had no exec step: the child exited 0 (the sandbox's probe) */

#define EXIT_RUNTIME 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

#define MFS_TIMED_STEPS 64

struct mfs_report {
  i32 state;
  i32 step;        /* index of the step running, or the one that failed */
  i32 err;         /* errno of the failed call; 0 when the failure is no system call's */
  i32 exit_code;   /* Docker's: 125 runtime, 126 not executable, 127 not found */
  i32 call_failed; /* 1: detail names a call with its arguments, and "failed: <errno>" is to follow */
  i32 reserved;
  char detail[2048];
  /* CLOCK_MONOTONIC in ns: when the child began, and when each of the first MFS_TIMED_STEPS steps ended */
  u64 began_ns;
  u64 step_end_ns[MFS_TIMED_STEPS];
};

#endif
