#pragma once

// Paths inside a root directory (a container rootfs, a sandbox dir) that never leave it,
// whatever `..` components and symlinks (absolute, relative, chained) they hold: the root
// acts as "/" for them, as it will for the container.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/base/unique_fd.h"

namespace kata::safe_path {

// How existing paths are resolved. kAuto uses openat2(RESOLVE_IN_ROOT) where the kernel has
// it and the component-by-component walk otherwise; the other two force one (for tests).
enum class Resolver { kAuto, kOpenat2, kWalk };

// root + path, with every symlink met on the way resolved as if root were "/" and `..`
// stopping at root. Components that do not exist are taken as plain names. The result is a
// lexically clean absolute path under root. Like Go's securejoin: a later rename can still
// change what the result names; use OpenInRoot to act on an existing file race-free.
// More than 255 symlinks is ELOOP (FailedPrecondition naming the path).
absl::StatusOr<std::string> ScopedJoin(const std::string& root, std::string_view path);

// Opens an existing `path` inside the directory `root_fd` with `flags` (O_PATH is added when
// no access mode is useful, i.e. pass O_PATH yourself; O_CLOEXEC always), resolving like
// ScopedJoin. NotFound when a component is missing.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags,
                                    Resolver resolver = Resolver::kAuto);

// The real absolute path of an existing `path` inside `root`, resolved as above. The result
// is checked to lie under root's own real path.
absl::StatusOr<std::string> ScopedResolve(const std::string& root, std::string_view path,
                                          Resolver resolver = Resolver::kAuto);

// mkdir -p of `path` inside `root`: missing directories are created with `mode` (umask
// applies), existing symlinks are followed within root only. Returns the real path of the
// final directory. A component that exists but is not a directory is FailedPrecondition.
// When `created` is given, the real paths of the directories this call made are appended to
// it, outermost first, so a caller can undo exactly them.
absl::StatusOr<std::string> MkdirAllInRoot(const std::string& root, std::string_view path,
                                           mode_t mode, std::vector<std::string>* created = nullptr,
                                           Resolver resolver = Resolver::kAuto);

// Whether this kernel offers openat2 (checked once).
bool KernelHasOpenat2();

}  // namespace kata::safe_path
