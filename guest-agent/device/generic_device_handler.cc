#include "guest-agent/device/device_handler.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<DeviceUpdate> GenericDeviceHandler::Update(const agent::Device& device, DeviceContext&) {
  if (device.container_path().empty() || device.vm_path().empty()) {
    return absl::InvalidArgumentError(
        StrCat("generic device \"", device.id(), "\" needs vm_path and container_path"));
  }
  ASSIGN_OR_RETURN(DeviceNode n, StatDeviceNode(device.vm_path()));
  return DeviceUpdate{device.container_path(), n.type, n.major, n.minor, std::nullopt};
}

}  // namespace kata::guest
