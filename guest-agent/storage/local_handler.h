#pragma once

#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// driver "local": a directory in the sandbox (shared between a pod's containers), created
// with the mode of a "mode=0NNN" option (default 0777, as Kata).
class LocalStorageHandler : public StorageHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"local"}; }
  absl::Status Validate(const agent::Storage& storage) const override;
  absl::Status Add(const agent::Storage& storage, StorageContext& ctx) override;
};

}  // namespace kata::guest
