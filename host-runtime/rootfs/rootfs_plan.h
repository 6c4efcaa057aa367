#pragma once

// A container's rootfs as containerd hands it (a list of Mounts), classified, and turned into
// what the agent mounts (pure; ../shared/reference/erofs-multi-layer.md):
//  - multi-layer EROFS: an ext4 `rw` upper, EROFS lowers (each a blob list: source then every
//    `device=`), and an overlay mount whose `X-containerd.mkdir.path=` directives travel to
//    the guest as `X-kata.mkdir.path=`;
//  - a single block-device or image rootfs (ext4, xfs, erofs): one device;
//  - one overlay of directories or one bind mount (containerd 1.6's overlayfs and native
//    snapshotters): mounted on the host inside the directory shared with the guest over
//    virtio-9p, where the container's rootfs is then found.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/agent.pb.h"

namespace kata::runtime {

// containerd's types.Mount.
struct RootfsMount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;
  bool operator==(const RootfsMount&) const = default;
};

// `[{"type": ..., "source": ..., "target": ..., "options": [...]}, ...]`; errors name the
// index and field.
absl::StatusOr<std::vector<RootfsMount>> ParseRootfsMountsJson(std::string_view json);

// A bundle whose rootfs is a directory (runc's shape; `ctr run --rootfs DIR`, where containerd
// hands over no Mounts): root.path (relative to the bundle) as one bind mount. Shared
// writable even for root.readonly: as under runc, mount points are made in it first, and the
// guest makes the root read-only before the process runs.
RootfsMount BundleRootfsMount(const std::string& bundle, const std::string& root_path);

struct ErofsLower {
  std::vector<std::string> blobs;    // source, then each device=, in order
  std::vector<std::string> options;  // for the guest: without loop, device=, X-kata.*
};

struct MultiLayerErofsRootfs {
  std::string upper_source;                // the ext4 image or block device
  std::vector<std::string> upper_options;  // for the guest: without loop
  std::vector<ErofsLower> lowers;          // topmost first (overlay's lowerdir order)
  std::vector<std::string> mkdir_directives;  // SPECs of X-containerd.mkdir.path=
};

struct BlockRootfs {
  std::string source;
  std::string fstype;
  std::vector<std::string> options;  // without loop
  bool read_only = false;
};

struct SharedRootfs {
  RootfsMount mount;  // overlay (lowerdir/upperdir/workdir paths) or bind
};

using RootfsPlan = std::variant<MultiLayerErofsRootfs, BlockRootfs, SharedRootfs>;

// At most this many virtio-blk devices for one rootfs (Kata's limit).
inline constexpr size_t kMaxRootfsDevices = 10;

// Classifies the mounts (types case-insensitive). InvalidArgument names what is wrong (no or
// two writable ext4 mounts next to EROFS, an EROFS mount without a source, a lowerdir that
// names no EROFS mount, too many devices); Unimplemented for no mounts at all (a bare rootfs
// directory: callers hand it over as a bind mount) or shapes nobody produces.
absl::StatusOr<RootfsPlan> ClassifyRootfs(const std::vector<RootfsMount>& mounts);

// Every file the plan attaches exists and is a regular file (or, for an upper or a block
// rootfs, a block device), checked before anything is attached. Names the offender.
absl::Status CheckRootfsFiles(const RootfsPlan& plan);

// The agent's Storages, given each device's source for the guest (PCI paths): for
// multi-layer, `sources` is the upper's then each lower's, in plan order. All mount at
// `guest_rootfs`. A shared rootfs needs none (the sandbox's 9p storage carries it).
absl::StatusOr<std::vector<agent::Storage>> RootfsStorages(const RootfsPlan& plan, const std::vector<std::string>& sources,
                                                           const std::string& guest_rootfs);

}  // namespace kata::runtime
