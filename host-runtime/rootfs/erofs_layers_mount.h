#pragma once

// The one mount kata-erofs-snapshotter returns for a container's snapshot (docs/erofs.md):
//
//   type    fuse.kata-erofs-mount
//   source  kata-erofs
//   options upper=<rw.img>, layer=<merged.erofs>  (or a layer= per layer.erofs, topmost
//           first, when not merged), [ro]
//
// Two consumers read it. containerd 1.6/1.7 (ctr's and CRI's temporary mounts, runc's shim)
// hands a `fuse.` type to mount.fuse, which runs our `kata-erofs-mount` helper: the host gets
// an ordinary overlay of the loop-mounted layers. Our shim never mounts it: it reads the layer
// files from the options and attaches them to the guest as block devices (the multi-layer
// EROFS path containerd 2.2's own snapshotter also feeds).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host-runtime/rootfs/rootfs_plan.h"

namespace kata::runtime {

// mount.fuse runs the program named after the type's subtype: kata-erofs-mount.
inline constexpr char kErofsLayersMountType[] = "fuse.kata-erofs-mount";

struct ErofsLayersMount {
  std::string upper_image;          // ext4 image holding upper/ and work/; "" for a read-only view
  std::vector<std::string> layers;  // EROFS images, topmost first (one merged.erofs, or each layer's)
  // Everything else (ro, nodev, ... and what mount.fuse adds: dev, suid), in order.
  std::vector<std::string> other_options;
};

RootfsMount ToRootfsMount(const ErofsLayersMount& m);

bool IsErofsLayersMount(const RootfsMount& m);

// InvalidArgument naming the option: another type, a path that is not absolute or holds a
// comma or ':' (mount.fuse splits on commas, overlayfs on colons), two uppers, nothing at all.
absl::StatusOr<ErofsLayersMount> ParseErofsLayersMount(const RootfsMount& m);

}  // namespace kata::runtime
