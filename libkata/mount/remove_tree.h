#pragma once

// Removing a runtime's state directory that may still have mounts below it (a container's
// rootfs bind-mounted for 9p, shared binds): removal must never descend into them, or it
// deletes the user's data (containerd's snapshot, a host volume).

#include <string>

#include "absl/status/status.h"

namespace kata::mount {

// Unmounts (lazily) everything mounted on or below `dir`, innermost first, then removes the
// tree without crossing into another filesystem. When something stays mounted, nothing is
// removed and the error names it. OK when `dir` does not exist.
absl::Status UnmountAndRemoveTree(const std::string& dir);

}  // namespace kata::mount
