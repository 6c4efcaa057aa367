#include "guest-agent/storage/ephemeral_handler.h"

#include "guest-agent/storage/mount_steps.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::Status EphemeralStorageHandler::Validate(const agent::Storage& storage) const {
  if (!storage.fstype().empty() && storage.fstype() != "tmpfs") {
    return absl::InvalidArgumentError(StrCat("ephemeral storage for ", storage.mount_point(),
                                             " must be tmpfs, not \"", storage.fstype(), "\""));
  }
  return absl::OkStatus();
}

absl::Status EphemeralStorageHandler::Add(const agent::Storage& storage, StorageContext& ctx) {
  return MountOnNewTarget("tmpfs", storage.mount_point(), "tmpfs", OptionsOf(storage), 0, ctx);
}

}  // namespace kata::guest
