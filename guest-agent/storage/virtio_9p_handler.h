#pragma once

#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// driver "9p": a directory the host shares over virtio-9p, named by its mount tag
// ("kataShared"). Mounted with trans=virtio and the storage's options; container rootfs
// directories from containerd's overlay or bind snapshots are reached through it.
class Virtio9pStorageHandler : public StorageHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"9p"}; }
  absl::Status Validate(const agent::Storage& storage) const override;
  absl::Status Add(const agent::Storage& storage, StorageContext& ctx) override;
};

}  // namespace kata::guest
