#pragma once

// kata-erofs-mount's work (what mount.fuse runs for a `fuse.kata-erofs-mount` mount on the
// host: containerd 1.6/1.7's temporary mounts, runc's shim): an ordinary overlay of the
// snapshot's loop-mounted files at the target.

#include <string>

#include "absl/status/status.h"
#include "host-runtime/rootfs/erofs_layers_mount.h"

namespace kata::snapshotter {

// Each layer is loop-mounted read-only, the upper image read-write (read-only, as the top
// lower, with `ro`), in a fresh directory under `scratch_parent`; the overlay (or, for one
// directory alone, a bind mount) goes on `target`. The helper mounts are then detached, so
// the target holds the only references: unmounting it frees the layers and loop devices, and
// nothing else of them stays visible on the host. On failure nothing stays mounted.
// FailedPrecondition when a VM has the upper image open (QEMU's image lock).
absl::Status MountLayersOnHost(const runtime::ErofsLayersMount& m, const std::string& target, const std::string& scratch_parent);

}  // namespace kata::snapshotter
