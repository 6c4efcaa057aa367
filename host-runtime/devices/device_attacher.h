#pragma once

// Hot-plugs a container's planned block devices (all at once) and gives back the agent's
// Device entries for them: driver "blk", found by PCI path, renumbered by the agent's batch
// update at their container paths. On any failure every device already attached is detached.

#include <vector>

#include "absl/status/statusor.h"
#include "host-runtime/devices/device_plan.h"
#include "host-runtime/vm/block_device_manager.h"
#include "protocols/agent.pb.h"

namespace kata::runtime {

struct AttachedDevices {
  std::vector<AttachedBlock> blocks;           // plan order
  std::vector<agent::Device> agent_devices;    // for CreateContainerRequest.devices
};

// The Device entry for a disk at `pci_path` that the container sees at `container_path`.
agent::Device BlockAgentDevice(const AttachedBlock& block, const std::string& container_path);

absl::StatusOr<AttachedDevices> AttachDevices(BlockDeviceManager& blocks, const DevicePlan& plan);

// Detaches every device; the first error, after trying them all.
absl::Status DetachDevices(BlockDeviceManager& blocks, AttachedDevices& devices);

}  // namespace kata::runtime
