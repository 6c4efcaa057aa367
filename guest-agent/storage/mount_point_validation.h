#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kata::guest {

// A storage mount point must be absolute, clean (no "", "." or ".." components, no trailing
// slash), free of NUL, and strictly below one of `allowed_roots`.
absl::Status ValidateMountPoint(const std::string& mount_point,
                                const std::vector<std::string>& allowed_roots);

}  // namespace kata::guest
