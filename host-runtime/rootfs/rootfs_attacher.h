#pragma once

// Attaches a classified rootfs to a running VM and gives back the Storages that mount it in
// the guest: the writable layer raw and writable, each EROFS lower raw and read-only (one blob)
// or through a VMDK descriptor that joins its blobs (several). Devices attach in parallel;
// on any failure every device already attached is detached and every descriptor removed
// (Kata leaves its writable device attached there).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/vm/block_device_manager.h"
#include "protocols/agent.pb.h"

namespace kata::runtime {

struct AttachedRootfs {
  std::vector<AttachedBlock> devices;     // plan order: upper first
  std::vector<std::string> descriptors;   // VMDK files written for this rootfs
  std::vector<agent::Storage> storages;   // for CreateContainerRequest.storages
};

// `work_dir` (the container's state directory, existing) receives the VMDK descriptors.
absl::StatusOr<AttachedRootfs> AttachRootfs(BlockDeviceManager& blocks, const RootfsPlan& plan, const std::string& work_dir,
                                            const std::string& guest_rootfs);

// Detaches every device and removes the descriptors; the first error, after trying them all.
absl::Status DetachRootfs(BlockDeviceManager& blocks, AttachedRootfs& rootfs);

}  // namespace kata::runtime
