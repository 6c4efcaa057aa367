#pragma once

// The host's node for a block device's numbers, as the kernel names it: DEVNAME in
// /sys/dev/block/<major>:<minor>/uevent, under /dev, checked to be that very device (a spec
// carries numbers, and the node the host has for them is what QEMU must open).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kata::runtime {

absl::StatusOr<std::string> FindHostBlockDevice(int64_t major, int64_t minor, const std::string& sysfs = "/sys",
                                                const std::string& dev = "/dev");

}  // namespace kata::runtime
