#include "guest-agent/device/device_handler.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<DeviceUpdate> BlkDeviceHandler::Update(const agent::Device& device, DeviceContext& ctx) {
  if (device.container_path().empty()) {
    return absl::InvalidArgumentError(StrCat("blk device ", device.id(), " has no container_path"));
  }
  // The PCI path decides; vm_path is only the host's guess of the guest name.
  ASSIGN_OR_RETURN(std::string node, ctx.block_devices.WaitForBlockDevice(device.id(), ctx.hotplug_timeout));
  ASSIGN_OR_RETURN(DeviceNode n, StatDeviceNode(node));
  return DeviceUpdate{device.container_path(), n.type, n.major, n.minor, std::nullopt};
}

}  // namespace kata::guest
