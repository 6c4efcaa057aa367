#pragma once

// A directory rootfs (containerd's overlay or bind snapshot) made visible to the guest: it is
// mounted on the host under the directory QEMU shares over virtio-9p, so the guest finds it
// below the sandbox's 9p mount. Every failure unmounts what was mounted.

#include <string>

#include "absl/status/status.h"
#include "host-runtime/rootfs/rootfs_plan.h"

namespace kata::runtime {

// Creates `target` and mounts the rootfs there (overlay with its options; bind recursively,
// read-only when the options say ro).
absl::Status MountSharedRootfs(const SharedRootfs& rootfs, const std::string& target);

// Unmounts `target` (lazily: a file still open in the guest must not block removal) and
// removes the directory.
absl::Status UnmountSharedRootfs(const std::string& target);

}  // namespace kata::runtime
