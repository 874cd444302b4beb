/*
 * warren-exec: the program every process warren starts in a container runs
 * last before the container's own (issue 11 item 7, CVE-2019-5736's class).
 * Until that execve the process is a clone of Node, so /proc/self/exe is the
 * host's `node`; a program whose `#!` line names /proc/self/exe would have
 * the kernel run host node in the container, and without a user namespace
 * container root could rewrite it once Node stopped. The child therefore
 * execveat()s this helper from a sealed memfd (native/exec-helper.cc) and
 * the helper execs the program: an interpreter resolved now is the memfd,
 * which nobody can write.
 *
 *   warren-exec REPORT_FD[:HOLD_FD] OP_INDEX FILE ARGV...   (environment unchanged)
 *
 * A failed execve of FILE is written to REPORT_FD as the child's own
 * report (op OP_INDEX, errno), so callers see the same typed error.
 *
 * With HOLD_FD (the OCI runtime's create/start split, runc's exec fifo):
 * FILE is looked up first (a missing program fails the create, as runc's
 * does), WR_REPORT_HELD tells the parent the process is ready, and the
 * helper waits for one byte on HOLD_FD (a fifo in the state directory, see
 * src/container/hold.ts) before the execve. The wait is here, not in the
 * cloned child, because this process no longer shares Node's memory: the
 * Node process that created the container may exit meanwhile. A failed
 * execve after the wait has nobody to report to but the program's stderr.
 *
 * Static and freestanding (no libc, its own _start): linked with -nostdlib,
 * so a call outside this file fails the build.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h> /* X_OK */

#include "../child/plan.h"
#include "../child/sys.h"

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
#if defined(__x86_64__)
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call wr_exec_helper_main\n"
        "  hlt\n"
#else
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl wr_exec_helper_main\n"
        "  brk #0\n"
#endif
);

static const char *find_path(char *const *envp) {
  for (; envp && *envp; envp++) {
    const char *e = *envp;
    if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=') return e + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* The path `dry` found (a held exec runs it after the wait). */
static char found[4096];

/* One candidate: execve it, or (dry) check that it could be, keeping it. */
static long try_exec(const char *path, char *const *argv, char *const *envp, int dry) {
  if (!dry) return wr_sys3(SYS_execve, path, argv, envp);
  long rc = wr_sys4(SYS_faccessat, AT_FDCWD, path, X_OK, 0);
  if (rc < 0) return rc;
  size_t n = wr_strlen(path);
  if (n >= sizeof found) return -ENAMETOOLONG;
  for (size_t i = 0; i <= n; i++) found[i] = path[i];
  return 0;
}

/* execvp's search without its allocation: EACCES wins over ENOENT so a
 * non-executable init is reported as such. */
static long exec_search(const char *file, char *const *argv, char *const *envp, int dry) {
  for (const char *p = file; *p; p++)
    if (*p == '/') return try_exec(file, argv, envp, dry);
  const char *path = find_path(envp);
  size_t flen = wr_strlen(file);
  int seen_eacces = 0;
  char buf[4096];
  for (const char *dir = path;; dir++) {
    const char *end = dir;
    while (*end && *end != ':') end++;
    size_t dlen = (size_t)(end - dir);
    if (dlen + 1 + flen + 1 <= sizeof buf) {
      size_t n = 0;
      for (size_t i = 0; i < dlen; i++) buf[n++] = dir[i];
      if (n == 0) buf[n++] = '.';
      buf[n++] = '/';
      for (size_t i = 0; i <= flen; i++) buf[n++] = file[i];
      long rc = try_exec(buf, argv, envp, dry);
      if (rc == -EACCES) seen_eacces = 1;
      else if (rc != -ENOENT && rc != -ENOTDIR) return rc;
    }
    if (!*end) break;
    dir = end;
  }
  return seen_eacces ? -EACCES : -ENOENT;
}

/* A decimal number up to `stop` (or the end); *rest is where it stopped. */
static long parse_uint_to(const char *s, char stop, const char **rest) {
  long v = 0;
  if (!*s || *s == stop) return -1;
  for (; *s && *s != stop; s++) {
    if (*s < '0' || *s > '9' || v > 0x7fffffffL / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  if (rest) *rest = s;
  return v;
}

static long parse_uint(const char *s) { return parse_uint_to(s, 0, 0); }

/* Reports "held", waits for the byte that starts the program, runs it. */
__attribute__((noreturn)) static void held(long report, long hold, char *const *argv, char *const *envp) {
  struct wr_report r = {WR_REPORT_HELD, 0, 0, 0};
  wr_sys3(SYS_write, report, &r, sizeof r);
  wr_sys1(SYS_close, report);
  char byte = 0;
  long n;
  do n = wr_sys3(SYS_read, hold, &byte, 1); while (n == -EINTR);
  /* Our own fd is open for writing too (the fifo is opened O_RDWR), so
   * EOF cannot happen; an error means nobody will ever start us. */
  if (n != 1) for (;;) wr_sys1(SYS_exit, 127);
  wr_sys1(SYS_close, hold);
  long rc = wr_sys3(SYS_execve, found, argv, envp);
  static const char msg[] = "warren-exec: execve of the container's program failed\n";
  wr_sys3(SYS_write, 2, msg, sizeof msg - 1);
  for (;;) wr_sys1(SYS_exit, rc == -ENOENT ? 127 : 126);
}

__attribute__((noreturn, used)) void wr_exec_helper_main(long *sp) {
  /* It holds the report pipe to Node: nothing in the container may ptrace
   * it. In a user namespace the kernel already made it non-dumpable at its
   * execve (the memfd is mode 0111, owned by an id the namespace does not
   * map); without one this narrows the window to its first instruction. */
  wr_sys5(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  const char *rest = "";
  long fd = argc > 4 ? parse_uint_to(argv[1], ':', &rest) : -1;
  long hold = -1;
  if (fd >= 0 && *rest == ':' && (hold = parse_uint(rest + 1)) < 3) fd = -1;
  long index = argc > 4 ? parse_uint(argv[2]) : -1;
  if (fd < 3 || index < 0 || !wr_streq(argv[0], WR_EXEC_HELPER_NAME)) {
    /* Run any other way: as the interpreter of a `#!/proc/self/exe`
     * script, or by hand. */
    static const char msg[] =
        "warren-exec: this is warren's exec helper, not a program (a `#!/proc/self/exe` line names it)\n";
    wr_sys3(SYS_write, 2, msg, sizeof msg - 1);
    for (;;) wr_sys1(SYS_exit, 126);
  }
  long rc = wr_sys3(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  if (rc == 0 && hold >= 0) {
    rc = exec_search(argv[3], argv + 4, envp, 1);
    if (rc == 0) held(fd, hold, argv + 4, envp);
  }
  if (rc == 0) rc = exec_search(argv[3], argv + 4, envp, 0);
  struct wr_report r = {WR_REPORT_ERROR, (int32_t)index, (int32_t)-rc, 0};
  wr_sys3(SYS_write, fd, &r, sizeof r);
  for (;;) wr_sys1(SYS_exit, 127);
}
