/*
 * Parent-side preparation of a plan before the clone: checks every string
 * offset and turns the argv/envp lists of EXEC ops into pointer arrays, so
 * the child only reads plain memory (and writes warren-exec's arguments
 * into the slots left for them before argv). It allocates, which is why it lives
 * outside native/child/ (whose objects may call nothing outside themselves).
 */

#include <errno.h>
#include <stdlib.h>

#include "child/plan.h"

/* Returns the list as a NULL-terminated array preceded by `lead` free
 * slots; the caller frees out - lead. */
static char **build_list(char *blob, uint32_t blob_len, uint64_t off, uint32_t lead, int *err) {
  if (off == WR_NONE || off + 4 > blob_len || (off & 3)) { *err = -EINVAL; return NULL; }
  const uint32_t *list = (const uint32_t *)(blob + off);
  uint32_t n = list[0];
  if (off + 4 + 4ull * n > blob_len) { *err = -EINVAL; return NULL; }
  char **out = (char **)malloc(sizeof(char *) * (lead + n + 1));
  if (!out) { *err = -ENOMEM; return NULL; }
  for (uint32_t i = 0; i < lead; i++) out[i] = NULL;
  out += lead;
  for (uint32_t i = 0; i < n; i++) {
    if (list[1 + i] >= blob_len) { free(out - lead); *err = -EINVAL; return NULL; }
    out[i] = blob + list[1 + i];
  }
  out[n] = NULL;
  return out;
}

int wr_plan_prepare(struct wr_op *ops, uint32_t nops, char *blob, uint32_t blob_len,
                    void **allocations, int max_allocations, int *n_allocations) {
  if (blob_len == 0 || blob[blob_len - 1] != 0) return -EINVAL;
  *n_allocations = 0;
  for (uint32_t i = 0; i < nops; i++) {
    struct wr_op *op = &ops[i];
    if (op->kind >= WR_OP__COUNT) return -EINVAL;
    uint32_t strs[4] = {op->s0, op->s1, op->s2, op->s3};
    for (int k = 0; k < 4; k++)
      if (strs[k] != WR_NONE && strs[k] >= blob_len) return -EINVAL;
    if (op->kind != WR_OP_EXEC) continue;
    if (*n_allocations + 2 > max_allocations) return -E2BIG;
    int err = 0;
    /* The child fills the slots before argv with warren-exec's own
     * arguments (child/plan.h). */
    char **argv = build_list(blob, blob_len, op->a, WR_EXEC_HELPER_ARGS, &err);
    if (!argv) return err;
    allocations[(*n_allocations)++] = argv - WR_EXEC_HELPER_ARGS;
    char **envp = build_list(blob, blob_len, op->b, 0, &err);
    if (!envp) return err;
    allocations[(*n_allocations)++] = envp;
    op->a = (uint64_t)(uintptr_t)argv;
    op->b = (uint64_t)(uintptr_t)envp;
  }
  return 0;
}
