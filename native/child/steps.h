/*
 * The plan's operations: one X-macro list gives the C enum and the step-name
 * table; TypeScript (src/plan/ops.ts) holds the same list and a unit test
 * compares both through the addon's stepNames(). Append only: the index is ABI.
 */
#ifndef WARREN_STEPS_H
#define WARREN_STEPS_H

#define WR_STEPS(X)                                                             \
  X(WR_OP_MOUNT, "mount")               /* mount(s0, s1, s2, a, s3)          */ \
  X(WR_OP_OPEN_TREE, "open-tree")       /* slots[b] = open_tree(s0, a)       */ \
  X(WR_OP_MOVE_MOUNT, "move-mount")     /* move_mount(slots[b] -> s1)        */ \
  X(WR_OP_SETATTR, "mount-setattr")     /* mount_setattr(s1, a=set, b=rec)   */ \
  X(WR_OP_MKDIR, "mkdir")               /* mkdir -p s1, mode a               */ \
  X(WR_OP_MKFILE, "create-file")        /* open(s1, O_CREAT), mode a         */ \
  X(WR_OP_MKNOD, "mknod")               /* mknod(s1, a=mode, b=dev)          */ \
  X(WR_OP_SYMLINK, "symlink")           /* symlink(s0 -> s1)                 */ \
  X(WR_OP_MASK, "mask-path")            /* /dev/null or ro tmpfs over s1     */ \
  X(WR_OP_PIVOT_ROOT, "pivot-root")     /* chdir(s1); pivot_root(., .)       */ \
  X(WR_OP_SETHOSTNAME, "sethostname")   /* s0                                */ \
  X(WR_OP_SETDOMAINNAME, "setdomainname") /* s0                              */ \
  X(WR_OP_LINK_UP, "link-up")           /* interface s0 IFF_UP               */ \
  X(WR_OP_RLIMIT, "setrlimit")          /* resource c, soft a, hard b        */ \
  X(WR_OP_CAPBSET_DROP, "drop-capabilities") /* bitmask a (caps 0..63)       */ \
  X(WR_OP_NO_NEW_PRIVS, "no-new-privileges")                                    \
  X(WR_OP_SECCOMP, "seccomp")           /* filter at blob+a, b entries, c flags */ \
  X(WR_OP_CREDS, "set-credentials")     /* uid a, gid b, groups list at c    */ \
  X(WR_OP_CHDIR, "chdir")               /* s1, resolved in root, verified    */ \
  X(WR_OP_STDIO, "stdio")               /* dup fds (a,b,c) onto 0,1,2        */ \
  X(WR_OP_SETSID, "setsid")             /* flags: WR_F_CTTY -> TIOCSCTTY 0   */ \
  X(WR_OP_CLOSE_FDS, "close-fds")       /* CLOEXEC all >= 3, keep list at a  */ \
  X(WR_OP_PDEATHSIG, "parent-death-signal") /* a                             */ \
  X(WR_OP_SETNS, "setns")               /* setns(fd a, flags b)              */ \
  X(WR_OP_FORK, "fork-into-namespaces") /* clone CLONE_PARENT, report pid    */ \
  X(WR_OP_EXEC, "exec")                 /* execve(s0, argv a, envp b), PATH  */ \
  X(WR_OP_WRITE_FILE, "write-file")     /* write s0 into existing file s1    */ \
  X(WR_OP_CLOSE_INHERITED, "close-inherited-fds") /* close >= 3 but list at a */ \
  X(WR_OP_SECCOMP_LISTENER, "seccomp-listener") /* filter a, b; listener -> fd c */ \
  X(WR_OP_TERMINAL, "terminal")         /* new pty onto 0,1,2; master -> fd a */

#define WR_ENUM_ITEM(id, name) id,
enum wr_op_kind { WR_STEPS(WR_ENUM_ITEM) WR_OP__COUNT };
#undef WR_ENUM_ITEM

#endif
