#pragma once

// Loads the kernel modules the guest image carries, in the order rootfs-builder wrote to
// lib/modules/load-order (dependencies first), with finit_module(2): no modprobe, no udev.
// A line may carry a condition, "9p.ko virtio=0x0009": that module loads only when the VM
// has a virtio device of that id (the vsock and 9p stacks cost boot time for nothing else).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::guest {

struct ModuleEntry {
  std::string file;                    // "erofs.ko"
  std::optional<uint32_t> virtio_id;   // load only if a virtio device with this id exists
};

struct ModuleLoadReport {
  std::vector<std::string> loaded;    // file names, in load order (already loaded ones count)
  std::vector<std::string> skipped;   // their virtio device is absent
  std::vector<std::string> failures;  // "erofs.ko: ..." for each that failed
};

// The entries of a load-order file's text (pure): one per line, blank lines and '#' comments
// skipped. A name with a '/' or "..", or an unknown condition, is InvalidArgument.
absl::StatusOr<std::vector<ModuleEntry>> ParseLoadOrder(const std::string& text);

// The virtio device ids present, from <bus_dir>/*/device ("0x0013").
std::set<uint32_t> VirtioDeviceIds(const std::string& bus_dir = "/sys/bus/virtio/devices");

// Loads every module listed in `dir`/load-order from `dir` whose condition holds. A module
// that fails is reported and the rest still load (the agent serves, and the storage that needs
// it fails by name). A missing load-order file means an image without modules.
absl::StatusOr<ModuleLoadReport> LoadModules(const std::string& dir, const std::set<uint32_t>& virtio_ids);

}  // namespace kata::guest
