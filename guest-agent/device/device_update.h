#pragma once

// What a device handler found for one device of the request: the guest's numbers for the
// device the spec names by container_path (../shared/reference/device-spec-update.md).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace kata::guest {

struct DeviceUpdate {
  std::string container_path;             // linux.devices[].path in the spec as the host wrote it
  char type = 'b';                        // 'b' or 'c', as the guest node is
  int64_t major = 0;                      // guest numbers
  int64_t minor = 0;
  std::optional<std::string> final_path;  // the path the container sees, when it differs
};

struct DeviceNode {
  char type;  // 'b' or 'c'
  int64_t major;
  int64_t minor;
};

// stat() of a device node: its type and st_rdev numbers. FailedPrecondition when `path` is
// not a block or character device.
absl::StatusOr<DeviceNode> StatDeviceNode(const std::string& path);

}  // namespace kata::guest
