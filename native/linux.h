/*
 * The one place for kernel ABI that libc headers may lack: syscall numbers,
 * the structs of the newer calls and their flag bits. Included by the child
 * (C, freestanding) and by the C++ parent, so it holds only macros and plain
 * structs. Our own names (WR_*, wr_*) keep it independent of which libc or
 * kernel headers happen to be installed: glibc 2.36's <sys/mount.h> declares
 * some of these as enums, so redefining the kernel's names would clash.
 */
#ifndef WARREN_LINUX_H
#define WARREN_LINUX_H

#include <stdint.h>
#include <sys/syscall.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "warren supports x86_64 and aarch64"
#endif

/* Numbers of calls added since Linux 5.1 (424 and up) are the same on every
 * architecture (the unified syscall table); older calls come from
 * <sys/syscall.h>, whose numbers differ between x86_64 and aarch64. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* A syscall number as a string literal, for assembly: WR_XSTR(SYS_exit) is
 * "60" on x86_64 and "93" on aarch64. */
#define WR_STR(x) #x
#define WR_XSTR(x) WR_STR(x)

/* clone3(2): struct clone_args (CLONE_ARGS_SIZE_VER2) and its newer flags. */
struct wr_clone_args {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
#define WR_CLONE_PIDFD 0x00001000ULL
#define WR_CLONE_INTO_CGROUP 0x200000000ULL

/* openat2(2): struct open_how and the RESOLVE_* bits. */
struct wr_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define WR_RESOLVE_NO_MAGICLINKS 0x02
#define WR_RESOLVE_NO_SYMLINKS 0x04
#define WR_RESOLVE_IN_ROOT 0x10

/* mount_setattr(2): struct mount_attr and MOUNT_ATTR_IDMAP. */
struct wr_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
#define WR_MOUNT_ATTR_RDONLY 0x00000001
#define WR_MOUNT_ATTR_IDMAP 0x00100000

/* open_tree(2), move_mount(2) and the *at AT_RECURSIVE flag. */
#define WR_OPEN_TREE_CLONE 1
#define WR_OPEN_TREE_CLOEXEC 02000000 /* O_CLOEXEC */
#define WR_AT_RECURSIVE 0x8000
#define WR_AT_EMPTY_PATH 0x1000
#define WR_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define WR_MOVE_MOUNT_T_EMPTY_PATH 0x00000040

/* fsopen(2), fsconfig(2), fsmount(2). */
#define WR_FSOPEN_CLOEXEC 0x00000001
#define WR_FSMOUNT_CLOEXEC 0x00000001
#define WR_FSCONFIG_SET_FLAG 0
#define WR_FSCONFIG_SET_STRING 1
#define WR_FSCONFIG_SET_FD 5
#define WR_FSCONFIG_CMD_CREATE 6

/* memfd_create(2) MFD_EXEC and fcntl(2) F_SEAL_EXEC (Linux 6.3): an
 * executable memfd where vm.memfd_noexec asks for an explicit choice, and
 * its execute bits sealed. */
#define WR_MFD_EXEC 0x0010U
#define WR_F_SEAL_EXEC 0x0020

/* close_range(2). */
#define WR_CLOSE_RANGE_UNSHARE (1U << 1)
#define WR_CLOSE_RANGE_CLOEXEC (1U << 2)

/* ioctl_tty(2) TIOCGPTPEER (Linux 4.13): _IO('T', 0x41) on both architectures. */
#define WR_TIOCGPTPEER 0x5441

/* PIDFD_GET_INFO (Linux 6.15): the first version (64 bytes) of struct
 * pidfd_info, which ends with the exit status. Once a process has been reaped
 * (by whichever parent), the kernel keeps its wait(2) status for every holder
 * of a pidfd to it (PIDFD_INFO_EXIT): a process that is not the parent learns
 * how it ended. _IOWR(0xFF, 11, 64 bytes) on both architectures. */
struct wr_pidfd_info {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
#define WR_PIDFD_GET_INFO 0xC040FF0BUL
#define WR_PIDFD_INFO_EXIT (1ULL << 3)

/* netlink(7): extended and capped acks (Linux 4.12 / 4.3). */
#define WR_NETLINK_CAP_ACK 10
#define WR_NETLINK_EXT_ACK 11
#define WR_NLM_F_CAPPED 0x100
#define WR_NLM_F_ACK_TLVS 0x200
#define WR_NLMSGERR_ATTR_MSG 1

#endif
