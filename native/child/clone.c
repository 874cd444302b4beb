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
 * memory and fd table (CLONE_VM | CLONE_FILES): it has no fds of its own to
 * close, so the parent's close of the write end is the EOF it waits for,
 * and no copy of the table (a pidfd per running container) is made or
 * closed for it. */
int wr_hold_main(void *arg) {
  const int *pipe_fds = (const int *)arg; /* read end, write end */
  char b;
  long n;
  do n = wr_sys3(SYS_read, pipe_fds[0], &b, 1); while (n == -EINTR);
  return 0;
}
