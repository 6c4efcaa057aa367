#pragma once

// podman's `tmpcopyup`: what the image has at a tmpfs mount's destination is copied into the
// new tmpfs. Syscalls only (it runs in the setup child), fixed buffers, a bounded depth.

namespace kata::guest {

// Copies the contents of directory `src_fd` into directory `dst_fd`: directories, regular
// files, symlinks, fifos, with their modes and owners. Returns 0 or an errno (ELOOP past
// kMaxCopyDepth levels).
inline constexpr int kMaxCopyDepth = 24;
int ChildCopyTree(int src_fd, int dst_fd) noexcept;

}  // namespace kata::guest
