#pragma once

// File helpers for a container init's setup child: syscalls only (no allocation, no locks),
// paths resolved inside the container root with openat2(RESOLVE_IN_ROOT), so `..` and
// symlinks (absolute or relative) stay inside it, as runc's securejoin + procfd do. Each
// returns 0 or an errno.

#include <sys/types.h>

namespace kata::guest {

enum class ChildCreate { kNothing, kDir, kFile };

// Opens `relative` (leading slashes ignored; "" is the root itself) under `root_fd` as an
// O_PATH fd. With kDir or kFile, missing directories on the way are made (0755) and a missing
// last component is made as a directory or an empty file (0644). `no_follow_last`: the last
// component must not be a symlink (ELOOP).
int ChildOpenInRoot(int root_fd, const char* relative, ChildCreate create, bool no_follow_last, int* out_fd) noexcept;

// Opens the directory holding `relative`'s last component (making missing ones) and points
// `*name` at that component inside `relative`.
int ChildOpenParentInRoot(int root_fd, const char* relative, int* out_fd, const char** name) noexcept;

// "/proc/self/fd/<fd>": what mount(2) is given to act on an fd's file (runc's procfd).
struct FdPath {
  char path[32];
};
FdPath ChildFdPath(int fd) noexcept;

// The per-mount flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, atime flags) of the mount
// holding `path`, for a remount that must keep them; 0 when statfs fails.
unsigned long ChildMountFlagsOf(const char* path) noexcept;

}  // namespace kata::guest
