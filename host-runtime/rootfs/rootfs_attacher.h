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

// The disks a block or multi-layer plan needs, in plan order (upper first), with the VMDK
// descriptors written into `work_dir` for lowers of several blobs. The files are checked
// first; on failure nothing is left written.
struct RootfsDisks {
  std::vector<BlockAttachRequest> requests;
  std::vector<std::string> descriptors;
};
absl::StatusOr<RootfsDisks> PrepareRootfsDisks(const RootfsPlan& plan, const std::string& work_dir);

// The rootfs of disks QEMU was started with (SandboxVm's boot disks, in `disks`' order).
absl::StatusOr<AttachedRootfs> BootAttachedRootfs(const RootfsPlan& plan, RootfsDisks disks,
                                                  const std::vector<AttachedBlock>& devices,
                                                  const std::string& guest_rootfs);

// Removes the VMDK descriptors (the devices stay: for a VM that is stopping anyway).
void RemoveDescriptors(AttachedRootfs& rootfs);

// `work_dir` (the container's state directory, existing) receives the VMDK descriptors.
absl::StatusOr<AttachedRootfs> AttachRootfs(BlockDeviceManager& blocks, const RootfsPlan& plan, const std::string& work_dir,
                                            const std::string& guest_rootfs);

// Detaches every device and removes the descriptors; the first error, after trying them all.
absl::Status DetachRootfs(BlockDeviceManager& blocks, AttachedRootfs& rootfs);

}  // namespace kata::runtime
