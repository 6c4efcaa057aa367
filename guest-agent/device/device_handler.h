#pragma once

// A device handler finds the guest side of one kind of Device (by type) and returns the
// update for the spec. It changes nothing: the spec is rewritten in one batch afterwards.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "guest-agent/common/handler_registry.h"
#include "guest-agent/device/block_device_waiter.h"
#include "guest-agent/device/device_update.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct DeviceContext {
  BlockDeviceWaiter& block_devices;
  absl::Duration hotplug_timeout;
  std::string sysfs_root = "/sys";
  std::string dev_root = "/dev";
};

class DeviceHandler {
 public:
  virtual ~DeviceHandler() = default;
  virtual std::vector<std::string> DriverTypes() const = 0;
  virtual absl::StatusOr<DeviceUpdate> Update(const agent::Device& device, DeviceContext& ctx) = 0;
};

class DeviceHandlerRegistry : public HandlerRegistry<DeviceHandler> {
 public:
  DeviceHandlerRegistry() : HandlerRegistry("device type") {}
};

// driver "blk": Device.id is the PCI path; waits for the disk and stats its node.
class BlkDeviceHandler : public DeviceHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"blk"}; }
  absl::StatusOr<DeviceUpdate> Update(const agent::Device& device, DeviceContext& ctx) override;
};

// driver "vfio": a VFIO group. The guest's group number comes from the PCI device named by
// an option "<host BDF>=<PCI path>" (its iommu_group in sysfs), else from vm_path
// (/dev/vfio/N). The container sees the group under the guest's name: final_path.
class VfioDeviceHandler : public DeviceHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"vfio"}; }
  absl::StatusOr<DeviceUpdate> Update(const agent::Device& device, DeviceContext& ctx) override;
};

// driver "generic": a block device the guest names vm_path ("/dev/vdc"), waited for by
// uevent like any disk; anything else (a char node, a path the agent saw no uevent for) is
// refused.
class GenericDeviceHandler : public DeviceHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {"generic"}; }
  absl::StatusOr<DeviceUpdate> Update(const agent::Device& device, DeviceContext& ctx) override;
};

}  // namespace kata::guest
