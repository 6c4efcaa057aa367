#pragma once

// Kata's PCI path: slot numbers from the root bus down, "%02x" each, joined by "/"
// ("02/00": slot 0 behind the bridge at slot 2 of the root bus).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::guest {

// "02/00" -> {2, 0}. Each component is exactly two hex digits naming a slot 00..1f.
absl::StatusOr<std::vector<uint8_t>> ParsePciPath(std::string_view path);

// The sysfs DEVPATH (relative to sysfs_root, e.g. "/devices/pci0000:00/0000:00:02.0/0000:01:00.0")
// of the device at `path`, found by walking each bridge's child bus in its pci_bus/ directory.
// Bridges must exist; the final device need not yet (it may be being hot-plugged).
absl::StatusOr<std::string> PciPathToDevpath(const std::string& sysfs_root, std::string_view path);

}  // namespace kata::guest
