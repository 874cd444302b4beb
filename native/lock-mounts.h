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
};

// What the lock thread stages: binds at <dir>/<index>, idmapped ones
// through a user namespace with the container's maps (uid_map/gid_map lines).
struct LockStage {
  std::string dir;
  std::vector<LockedBind> binds;
  std::string uid_map, gid_map;
};

// Writes /proc/<pid>/<name> (an id map, setgroups) in one write; 0 or -errno.
int WriteProcFile(pid_t pid, const char *name, const std::string &data);

// Runs clone_fn on a short-lived thread with a mount namespace of its own,
// owned by the host's user namespace, in which every bind is mounted at
// <dir>/<index> (on a tmpfs only that namespace sees). A child
// cloned there with CLONE_NEWUSER | CLONE_NEWNS gets a copy made for a less
// privileged user namespace, in which the kernel locks those flags
// (MNT_LOCK_READONLY, ...): container root cannot make them writable, and a
// clone of them (open_tree) stays locked. Returns clone_fn's result, or
// -errno of the staging step that failed (*stage_failed is then true).
long CloneWithLockedBinds(const LockStage &stage, const std::function<long()> &clone_fn, bool *stage_failed);

}  // namespace warren

#endif
