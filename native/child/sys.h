/*
 * Raw system calls for the child. After a CLONE_VM clone the child shares
 * Node's memory and its thread pointer, so glibc wrappers are off limits:
 * they set the parent thread's errno, and some (setresuid, setgroups) signal
 * every thread of the process to apply credentials. These return -errno.
 * The string helpers exist for the same reason: the child's objects are
 * built freestanding and must not call into libc (scripts/check-child-symbols.sh).
 */
#ifndef WARREN_SYS_H
#define WARREN_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "../linux.h" /* syscall numbers, kernel structs and flags */

static inline long wr_sys6(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#else
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
#endif
}

#define wr_sys0(n) wr_sys6((n), 0, 0, 0, 0, 0, 0)
#define wr_sys1(n, a) wr_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define wr_sys2(n, a, b) wr_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define wr_sys3(n, a, b, c) wr_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define wr_sys4(n, a, b, c, d) wr_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define wr_sys5(n, a, b, c, d, e) \
  wr_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline size_t wr_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* A struct assignment is a memcpy call on aarch64 (x86-64 inlines it as
 * rep movs): copy large structs with this instead. */
static inline void wr_memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  while (n--) *d++ = *s++;
}

static inline int wr_streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* Writes the decimal form of v at p, returns the end (not NUL-terminated). */
static inline char *wr_utoa(char *p, unsigned long v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n) *p++ = tmp[--n];
  return p;
}

#endif
