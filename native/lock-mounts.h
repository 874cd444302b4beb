#ifndef WARREN_LOCK_MOUNTS_H
#define WARREN_LOCK_MOUNTS_H

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace warren {

// A host directory or file the container gets with flags it cannot change:
// read-only for good, and/or idmapped through the container's id map.
struct LockedBind {
  std::string source;
  bool recursive = true;
  bool is_dir = true;
  bool readonly = true;
  bool idmap = false;
  // Not a bind of source: a fresh read-only sysfs, mounted after the
  // namespaces are joined, so it shows the joined network namespace's
  // devices (a container's root may not mount sysfs for a network
  // namespace another user namespace owns).
  bool sysfs = false;
  // Not a bind either: source is a block device whose filesystem of this
  // type is mounted (a device's disk; a user namespace may not mount one).
  std::string fstype;
};

// A namespace the container's first process starts in instead of a new one:
// setns(fd, nstype) on the staging thread, before the clone (see below).
struct NsJoin {
  int fd = -1;
  int nstype = 0;
};

// What the staging thread does before it clones: the namespaces it joins,
// and the binds it stages at <dir>/<index>, idmapped ones through a user
// namespace with the container's maps (uid_map/gid_map lines).
struct LockStage {
  std::vector<NsJoin> join;
  std::string dir;
  std::vector<LockedBind> binds;
  std::string uid_map, gid_map;
};

enum class StagingStep { kNone, kJoin, kLock };

// Writes /proc/<pid>/<name> (an id map, setgroups) in one write; 0 or -errno.
int WriteProcFile(pid_t pid, const char *name, const std::string &data);

// Runs clone_fn on a short-lived thread. The thread first joins the
// namespaces in `join` (network, IPC, UTS: the kernel lets one thread of a
// multithreaded process setns into those, and a child cloned without the
// matching CLONE_NEW* flag starts in them, whatever user namespace it gets;
// setns after the clone would need CAP_SYS_ADMIN over the target's owning
// user namespace, which a container with its own id range lacks). With
// binds, the thread then gets a mount namespace of its own, owned by the
// host's user namespace, in which every bind is mounted at <dir>/<index>
// (on a tmpfs only that namespace sees). A child cloned there with
// CLONE_NEWUSER | CLONE_NEWNS gets a copy made for a less privileged user
// namespace, in which the kernel locks those flags (MNT_LOCK_READONLY, ...):
// container root cannot make them writable, and a clone of them
// (open_tree) stays locked. Returns clone_fn's result, or -errno of the
// staging step that failed (*failed then names it).
long CloneOnStagingThread(const LockStage &stage, const std::function<long()> &clone_fn, StagingStep *failed);

}  // namespace warren

#endif
