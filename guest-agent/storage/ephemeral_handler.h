#pragma once

#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// driver "ephemeral": a tmpfs at the mount point (emptyDir with medium Memory).
class EphemeralStorageHandler : public StorageHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"ephemeral"}; }
  absl::Status Validate(const agent::Storage& storage) const override;
  absl::Status Add(const agent::Storage& storage, StorageContext& ctx) override;
};

}  // namespace kata::guest
