#include "host-runtime/rootfs/rootfs_attacher.h"

#include <unistd.h>

#include "host-runtime/vm/vmdk.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("rootfs");

// The agent's Storages for `out.devices` (plan order), found by their PCI paths.
absl::Status FillStorages(const RootfsPlan& plan, const std::string& guest_rootfs, AttachedRootfs& out) {
  std::vector<std::string> sources;
  for (const AttachedBlock& d : out.devices) sources.push_back(d.pci_path);
  auto storages = RootfsStorages(plan, sources, guest_rootfs);
  if (!storages.ok()) return storages.status();
  out.storages = std::move(*storages);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RootfsDisks> PrepareRootfsDisks(const RootfsPlan& plan, const std::string& work_dir) {
  if (absl::Status s = CheckRootfsFiles(plan); !s.ok()) return s;
  RootfsDisks out;
  if (std::holds_alternative<SharedRootfs>(plan)) {
    return absl::InvalidArgumentError("a shared rootfs is mounted on the host, not attached (MountSharedRootfs)");
  } else if (const auto* block = std::get_if<BlockRootfs>(&plan)) {
    out.requests.push_back({block->source, BlockFormat::kRaw, block->read_only, "threads", false, "rootfs"});
    return out;
  }
  const auto& ml = std::get<MultiLayerErofsRootfs>(plan);
  out.requests.push_back({ml.upper_source, BlockFormat::kRaw, false, "threads", false, "rootfs-upper"});
  for (size_t i = 0; i < ml.lowers.size(); ++i) {
    const auto& blobs = ml.lowers[i].blobs;
    const std::string serial = StrCat("rootfs-lower", i);
    if (blobs.size() == 1) {
      // An image layer: every container of the sandbox using this file shares its device.
      out.requests.push_back({blobs[0], BlockFormat::kRaw, true, "threads", false, serial, true});
      continue;
    }
    const std::string descriptor = StrCat(work_dir, "/lower-", i, ".vmdk");
    if (absl::Status s = WriteVmdkDescriptor(descriptor, blobs); !s.ok()) {
      for (const std::string& d : out.descriptors) ::unlink(d.c_str());
      return s;
    }
    out.descriptors.push_back(descriptor);
    out.requests.push_back({descriptor, BlockFormat::kVmdk, true, "threads", false, serial});
  }
  return out;
}

absl::StatusOr<AttachedRootfs> BootAttachedRootfs(const RootfsPlan& plan, RootfsDisks disks,
                                                  const std::vector<AttachedBlock>& devices,
                                                  const std::string& guest_rootfs) {
  AttachedRootfs out;
  out.descriptors = std::move(disks.descriptors);
  if (devices.size() != disks.requests.size()) {
    RemoveDescriptors(out);
    return absl::InternalError(StrCat("the VM booted with ", devices.size(), " disks for a rootfs of ", disks.requests.size()));
  }
  out.devices = devices;
  if (absl::Status s = FillStorages(plan, guest_rootfs, out); !s.ok()) {
    RemoveDescriptors(out);
    return s;
  }
  return out;
}

void RemoveDescriptors(AttachedRootfs& rootfs) {
  for (const std::string& d : rootfs.descriptors) ::unlink(d.c_str());
  rootfs.descriptors.clear();
}

absl::StatusOr<AttachedRootfs> AttachRootfs(BlockDeviceManager& blocks, const RootfsPlan& plan, const std::string& work_dir,
                                            const std::string& guest_rootfs) {
  auto disks = PrepareRootfsDisks(plan, work_dir);
  if (!disks.ok()) return disks.status();
  AttachedRootfs out;
  out.descriptors = std::move(disks->descriptors);
  const std::vector<BlockAttachRequest>& requests = disks->requests;

  absl::Status first_error;
  for (auto& r : blocks.AttachAll(requests)) {
    if (r.ok()) {
      out.devices.push_back(*r);
    } else if (first_error.ok()) {
      first_error = r.status();
    }
  }
  if (first_error.ok()) first_error = FillStorages(plan, guest_rootfs, out);
  if (first_error.ok()) {
    kLog.Info("rootfs attached", {{"devices", static_cast<int64_t>(out.devices.size())},
                                  {"descriptors", static_cast<int64_t>(out.descriptors.size())}});
    return out;
  }
  if (absl::Status undone = DetachRootfs(blocks, out); !undone.ok()) {
    kLog.Error("rollback of a failed rootfs attach failed", {{"error", std::string(undone.message())}});
  }
  return first_error;
}

absl::Status DetachRootfs(BlockDeviceManager& blocks, AttachedRootfs& rootfs) {
  absl::Status first;
  std::vector<std::string> ids;
  for (const AttachedBlock& d : rootfs.devices) ids.push_back(d.device_id);
  for (const absl::Status& s : blocks.DetachAll(ids)) {
    if (!s.ok() && first.ok()) first = s;
  }
  rootfs.devices.clear();
  RemoveDescriptors(rootfs);
  return first;
}

}  // namespace kata::runtime
