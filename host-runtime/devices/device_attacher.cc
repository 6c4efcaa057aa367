#include "host-runtime/devices/device_attacher.h"

#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("devices");

}  // namespace

agent::Device BlockAgentDevice(const AttachedBlock& block, const std::string& container_path) {
  agent::Device d;
  d.set_type("blk");
  d.set_id(block.pci_path);  // the agent finds the disk by it; a guest name would be a guess
  d.set_container_path(container_path);
  return d;
}

absl::StatusOr<AttachedDevices> AttachDevices(BlockDeviceManager& blocks, const DevicePlan& plan) {
  std::vector<BlockAttachRequest> requests;
  for (const PlannedBlockDevice& d : plan.block) {
    // QEMU's serial shows as /sys/block/vdX/serial in the guest: which spec entry a disk is.
    requests.push_back({d.host_path, BlockFormat::kRaw, d.read_only, "threads", false, StrCat("dev", d.spec_index)});
  }
  std::vector<absl::StatusOr<AttachedBlock>> results = blocks.AttachAll(requests);
  AttachedDevices out;
  absl::Status first_error;
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StatusOr<AttachedBlock>& r = results[i];
    if (!r.ok()) {
      if (first_error.ok()) {
        first_error = absl::Status(r.status().code(), StrCat("linux.devices[", plan.block[i].spec_index, "] (",
                                                             plan.block[i].container_path, "): ", r.status().message()));
      }
      continue;
    }
    out.agent_devices.push_back(BlockAgentDevice(*r, plan.block[i].container_path));
    out.blocks.push_back(*std::move(r));
  }
  if (first_error.ok()) {
    if (!out.blocks.empty()) kLog.Info("devices attached", {{"devices", static_cast<int64_t>(out.blocks.size())}});
    return out;
  }
  if (absl::Status undone = DetachDevices(blocks, out); !undone.ok()) {
    kLog.Error("rollback of a failed device attach failed", {{"error", std::string(undone.message())}});
  }
  return first_error;
}

absl::Status DetachDevices(BlockDeviceManager& blocks, AttachedDevices& devices) {
  absl::Status first;
  std::vector<std::string> ids;
  for (const AttachedBlock& b : devices.blocks) ids.push_back(b.device_id);
  for (const absl::Status& s : blocks.DetachAll(ids)) {
    if (!s.ok() && first.ok()) first = s;
  }
  devices.blocks.clear();
  devices.agent_devices.clear();
  return first;
}

}  // namespace kata::runtime
