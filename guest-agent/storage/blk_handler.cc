#include "guest-agent/storage/blk_handler.h"

#include "guest-agent/device/pci_path.h"
#include "guest-agent/storage/mount_steps.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::Status ValidateBlockSource(const std::string& source) {
  if (source.starts_with("/dev/")) {
    const std::string name = source.substr(5);
    if (name.empty() || name.find('/') != std::string::npos || name == "..") {
      return absl::InvalidArgumentError(StrCat("block source \"", source, "\" is not /dev/<name>"));
    }
    return absl::OkStatus();
  }
  return ParsePciPath(source).status();
}

absl::Status BlkStorageHandler::Validate(const agent::Storage& storage) const {
  RETURN_IF_ERROR(ValidateBlockSource(storage.source()));
  if (storage.fstype().empty()) {
    return absl::InvalidArgumentError(StrCat("blk storage for ", storage.mount_point(), " has no fstype"));
  }
  return absl::OkStatus();
}

absl::Status BlkStorageHandler::Add(const agent::Storage& storage, StorageContext& ctx) {
  ASSIGN_OR_RETURN(std::string device, ctx.devices.WaitForBlockDevice(storage.source(), ctx.hotplug_timeout));
  return MountOnNewTarget(device, storage.mount_point(), storage.fstype(), OptionsOf(storage), 0, ctx);
}

}  // namespace kata::guest
