#pragma once

// Hot-plugs block devices into a running VM over QMP: blockdev-add, then device_add of a
// virtio-blk-pci on a free cold-plugged root port; the agent then finds the device by the
// returned PCI path. Detach waits for the guest to release the device (DEVICE_DELETED for its
// id) before blockdev-del. Attaches may run at once; every failure undoes what it did.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "host-runtime/qmp/qmp_client.h"
#include "host-runtime/vm/qemu_command.h"

namespace kata::runtime {

enum class BlockFormat { kRaw, kVmdk };

struct BlockAttachRequest {
  std::string path;             // image file, block device node, or VMDK descriptor
  BlockFormat format = BlockFormat::kRaw;
  bool read_only = false;
  std::string aio = "threads";  // threads | native | io_uring (native needs cache_direct)
  bool cache_direct = false;
  std::string serial;           // shows up as /sys/block/vdX/serial in the guest
  // A read-only image several containers may use at once (an image layer): one device serves
  // every attach of the same path, detached when the last of them lets go.
  bool shared = false;
};

struct AttachedBlock {
  std::string device_id;  // QEMU's device id ("blk3")
  std::string node_name;  // the block node ("drive-3")
  std::string pci_path;   // Kata's PCI path: "02/00" for the device behind root port rp0
  uint32_t root_port = 0;
  std::string shared_path = {};  // the path it serves every shared attach of, "" when not shared
};

// The blockdev-add and device_add arguments (pure; tested without QEMU). `host_device` is
// whether `path` is a block device node.
nlohmann::json BlockdevAddArguments(const BlockAttachRequest& request, const std::string& node_name, bool host_device);
nlohmann::json DeviceAddArguments(const BlockAttachRequest& request, const AttachedBlock& block);
std::string RootPortPciPath(uint32_t root_port);

// A disk given to QEMU at launch, and where it sits.
struct ColdPlugDisk {
  AttachedBlock block;
  VmDisk launch;
};

// Disks known before the VM starts (a rootfs `kata-runtime run` is given): checked as Attach
// checks them, on root ports 0.. with ids blk0.., in order; each on a port of its own, besides
// the `hotplug_root_ports` kept free (LaunchRootPorts). ResourceExhausted when the two
// together pass kMaxRootPorts.
absl::StatusOr<std::vector<ColdPlugDisk>> PlanColdPlug(const std::vector<BlockAttachRequest>& requests,
                                                       uint32_t hotplug_root_ports);

class BlockDeviceManager {
 public:
  // `cold_plugged` were on QEMU's command line: attached from the start, detached like the rest.
  BlockDeviceManager(QmpClient& qmp, uint32_t root_ports, const std::vector<ColdPlugDisk>& cold_plugged = {});

  // A shared request whose path is attached already gets that device (one more user of it).
  absl::StatusOr<AttachedBlock> Attach(const BlockAttachRequest& request) ABSL_LOCKS_EXCLUDED(mu_);
  // Every request at once (each hot-plug waits on QEMU and the guest, not on the others); the
  // results in request order. Undoing the ones that succeeded is the caller's.
  std::vector<absl::StatusOr<AttachedBlock>> AttachAll(const std::vector<BlockAttachRequest>& requests)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A shared device only loses a user while others remain. NotFound for an id this manager
  // did not attach; DeadlineExceeded when the guest did not
  // let go of it within `timeout`: the device stays accounted for until QEMU no longer has
  // it, and then its node and root port are reclaimed (by the next Attach):
  // a slow guest costs a port for a while, never for good.
  absl::Status Detach(const std::string& device_id, absl::Duration timeout = absl::Seconds(10)) ABSL_LOCKS_EXCLUDED(mu_);

  // Every id at once (each unplug waits on the guest, not on the others); results in order.
  std::vector<absl::Status> DetachAll(const std::vector<std::string>& device_ids) ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<AttachedBlock> Attached() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  QmpClient& qmp_;
  mutable absl::Mutex mu_;
  std::vector<bool> port_used_ ABSL_GUARDED_BY(mu_);
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, AttachedBlock> attached_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> detaching_ ABSL_GUARDED_BY(mu_);  // ids with a Detach under way
  std::set<std::string> lingering_ ABSL_GUARDED_BY(mu_);  // device_del sent, the guest late to let go
  struct SharedDevice {
    std::string device_id;
    int users = 0;
  };
  std::map<std::string, SharedDevice> shared_ ABSL_GUARDED_BY(mu_);  // by path

  // For each lingering device QEMU no longer has: blockdev-del, and its root port back.
  void ReclaimReleased() ABSL_LOCKS_EXCLUDED(mu_);
};

}  // namespace kata::runtime
