#include <sys/stat.h>

#include "guest-agent/device/device_handler.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<DeviceUpdate> GenericDeviceHandler::Update(const agent::Device& device, DeviceContext& ctx) {
  if (device.container_path().empty() || device.vm_path().empty()) {
    return absl::InvalidArgumentError(
        StrCat("generic device \"", device.id(), "\" needs vm_path and container_path"));
  }
  // The host's word is not enough (it could name /dev/mem or another container's disk): the
  // node must be a block device whose arrival the agent saw itself, by uevent, under /dev.
  auto node = ctx.block_devices.WaitForBlockDevice(device.vm_path(), ctx.hotplug_timeout);
  if (!node.ok()) {
    return absl::Status(node.status().code(), StrCat("generic device \"", device.id(), "\" vm_path ",
                                                     device.vm_path().substr(0, 256), ": ", ToStd(node.status().message())));
  }
  ASSIGN_OR_RETURN(DeviceNode n, StatDeviceNode(*node));
  if (n.type != 'b') {
    return absl::InvalidArgumentError(StrCat("generic device \"", device.id(), "\" vm_path ", device.vm_path(),
                                             " is not a block device"));
  }
  return DeviceUpdate{device.container_path(), n.type, n.major, n.minor, std::nullopt};
}

}  // namespace kata::guest
