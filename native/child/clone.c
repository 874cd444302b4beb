/* The clone3 trampoline: the one piece of the child written in assembly. */

#include <errno.h>

#include "child.h"

/* clone3 returns 0 in the child on a fresh stack with no frame to return
 * into, so the child must call its function from assembly. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl wr_clone3\n"
        ".hidden wr_clone3\n"
        ".type wr_clone3,@function\n"
        "wr_clone3:\n"
        "  mov %rdx, %r8\n"  /* fn (r8/r9 survive syscall) */
        "  mov %rcx, %r9\n"  /* arg */
        "  mov $" WR_XSTR(SYS_clone3) ", %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  mov %r9, %rdi\n"
        "  call *%r8\n"
        "  mov %eax, %edi\n"
        "  mov $" WR_XSTR(SYS_exit) ", %eax\n"
        "  syscall\n"
        "  hlt\n"
        "1: ret\n"
        ".size wr_clone3, .-wr_clone3\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl wr_clone3\n"
        ".hidden wr_clone3\n"
        ".type wr_clone3,%function\n"
        "wr_clone3:\n"
        "  mov x10, x2\n"
        "  mov x11, x3\n"
        "  mov x8, #" WR_XSTR(SYS_clone3) "\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  mov x29, xzr\n"
        "  mov x0, x11\n"
        "  blr x10\n"
        "  mov x8, #" WR_XSTR(SYS_exit) "\n"
        "  svc #0\n"
        "  brk #0\n"
        "1: ret\n"
        ".size wr_clone3, .-wr_clone3\n");
#endif

/* A child that only holds the namespaces it was cloned into (the lock
 * stage's throwaway user namespace, native/lock-mounts.cc): it blocks on a
 * pipe until the parent closes its end, then exits. It shares the parent's
 * memory, so it closes its copy of the write end through raw calls only. */
int wr_hold_main(void *arg) {
  const int *pipe_fds = (const int *)arg; /* read end, write end */
  const unsigned int r = (unsigned int)pipe_fds[0];
  char b;
  long n;
  /* Only the read end stays. The rest is a copy of the parent's fd table,
   * which holds the write ends of holders being made at the same time on
   * other threads: two holders each keeping the other's open would never
   * read EOF, and the spawns waiting for them would wait forever. */
  if (r > 0) wr_sys3(SYS_close_range, 0, r - 1, 0);
  wr_sys3(SYS_close_range, r + 1, ~0U, 0);
  do n = wr_sys3(SYS_read, pipe_fds[0], &b, 1); while (n == -EINTR);
  return 0;
}
