#pragma once

#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// driver "blk": a virtio-blk disk named by PCI path ("02/00") or a /dev path. Waits for the
// device, then mounts it with the storage's fstype and options.
class BlkStorageHandler : public StorageHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"blk"}; }
  absl::Status Validate(const agent::Storage& storage) const override;
  absl::Status Add(const agent::Storage& storage, StorageContext& ctx) override;
};

// Checks a block source: a PCI path or /dev/<name>. Shared with the multi-layer handler.
absl::Status ValidateBlockSource(const std::string& source);

}  // namespace kata::guest
