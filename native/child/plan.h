/*
 * The parent <-> child ABI. TypeScript (src/plan/encode.ts) writes this layout
 * into one buffer; the addon copies it into malloc'd memory and fixes list
 * offsets up into pointers before the clone, so the child reads plain memory
 * and never allocates.
 *
 *   struct wr_plan_header | struct wr_op[nops] | blob (strings, lists, BPF)
 *
 * Strings are NUL-terminated offsets into the blob (WR_NONE = absent).
 * Lists are u32 count followed by u32 items (string offsets or ids).
 */
#ifndef WARREN_PLAN_H
#define WARREN_PLAN_H

#include <stdint.h>
#include "steps.h"

#define WR_PLAN_MAGIC 0x314e5257u /* "WRN1" little-endian */
#define WR_PLAN_VERSION 1u
#define WR_NONE 0xffffffffu
#define WR_MAX_SLOTS 64

/* op flags */
#define WR_F_OPTIONAL (1u << 0) /* ENOENT on the target is not an error */
#define WR_F_MKDIR (1u << 1)    /* create the target directory first */
#define WR_F_MKFILE (1u << 2)   /* create the target as an empty file first */
#define WR_F_CTTY (1u << 3)     /* setsid: make fd 0 the controlling tty */
#define WR_F_RECURSIVE (1u << 4)
#define WR_F_IN_ROOT (1u << 5)  /* mount: s1 is relative to the root at blob+c */
#define WR_F_NO_SYMLINKS (1u << 6) /* no symlink anywhere in the target: ELOOP */
#define WR_F_HOLD (1u << 7)     /* exec: wait for a byte on fd c first (see WR_REPORT_HELD) */

struct wr_op {
  uint32_t kind;
  uint32_t flags;
  uint64_t a, b, c;
  uint32_t s0, s1, s2, s3;
};

struct wr_plan_header {
  uint32_t magic;
  uint32_t version;
  uint32_t nops;
  uint32_t blob_len;
};

/* What the child sends back on the CLOEXEC report pipe. EOF without a record
 * means execve succeeded. */
#define WR_REPORT_ERROR 1
#define WR_REPORT_PID 2
/* warren-exec of an exec op with WR_F_HOLD: the program was found and the
 * process now waits on its hold fd (the OCI runtime's "created"); the
 * parent takes this as success and stops reading. */
#define WR_REPORT_HELD 3
/* The child's first report: it has a fd table of its own (it was cloned
 * sharing Node's), so the parent may close its copies of the child's ends. */
#define WR_REPORT_OWN_FDS 4
/* WR_REPORT_ERROR's op_index when the child could not execveat warren-exec
 * (kStepExecHelper in native/spawn.h). */
#define WR_STEP_EXEC_HELPER (-11)
/* ... and when it could not make its own fd table (kStepFdTable). */
#define WR_STEP_FD_TABLE (-12)

/* The exec step's final execve goes through warren-exec (native/exec-helper/),
 * a static helper the parent holds in a sealed memfd (exec_fd), so that no
 * path the container's program names (`#!/proc/self/exe`) leads to the
 * host's node: the helper is called as
 *   warren-exec REPORT_FD[:HOLD_FD] OP_INDEX FILE ARGV...
 * and execs FILE (PATH search when it has no slash) with ARGV and the same
 * environment, reporting a failure on REPORT_FD as the child would. The
 * EXEC op's argv array (plan-prepare.c) has WR_EXEC_HELPER_ARGS free
 * pointer slots before it for the first four. */
#define WR_EXEC_HELPER_NAME "warren-exec"
#define WR_EXEC_HELPER_ARGS 4

struct wr_report {
  int32_t kind;
  int32_t op_index; /* -1: the handshake before the first op */
  int32_t err;      /* positive errno */
  int32_t arg;      /* WR_REPORT_PID: the process that will exec; WR_REPORT_ERROR:
                     * the op's detail (wr_child.fail_arg), 0 for none */
};

/* Everything the child needs, prepared by the parent before clone. */
struct wr_child {
  const struct wr_op *ops;
  uint32_t nops;
  const char *blob;
  uint32_t blob_len;
  int sync_fd;   /* our end of a socketpair: one byte from the parent means "go" */
  int sync_peer; /* our inherited copy of the write end: closed first, so a
                    parent that gives up (closes its end) means EOF here */
  int report_peer; /* our inherited copy of the report pipe's read end */
  int report_fd; /* write end, O_CLOEXEC */
  char *stack2;  /* second stack for WR_OP_FORK */
  uint64_t stack2_size;
  uint32_t resume; /* WR_OP_FORK: the op the grandchild continues with */
  int exec_fd;     /* the sealed memfd of warren-exec (O_CLOEXEC), or -1 */
  int slots[WR_MAX_SLOTS];
  /* Set by a failing op for the report: a mount target's ELOOP puts the
   * length of its prefix that is a symlink here (wr_symlink_prefix). */
  int32_t fail_arg;
};

#ifdef __cplusplus
extern "C" {
#endif
/* Entry point of the cloned child (runs on its own stack, shares the parent's
 * memory). Never returns on success: it execs. */
int wr_child_main(void *arg);
/* clone3 with a child function: returns the child's pid (or -errno) in the
 * parent; in the child runs fn(arg) on the new stack and exits with its value. */
long wr_clone3(void *clone_args, unsigned long size, int (*fn)(void *), void *arg);
/* A child function that waits for EOF on the pipe arg points to ({read end,
 * write end}), then exits; cloned with CLONE_FILES (it closes nothing). */
int wr_hold_main(void *arg);
/* Fix list offsets of EXEC ops up into pointer arrays (parent side, may
 * allocate: native/plan-prepare.c, outside the child). Returns 0 or -errno. */
int wr_plan_prepare(struct wr_op *ops, uint32_t nops, char *blob, uint32_t blob_len,
                    void **allocations, int max_allocations, int *n_allocations);
#ifdef __cplusplus
}
#endif

#endif
