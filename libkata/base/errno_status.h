#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace kata {

// An absl::Status for a failed syscall: the code follows errno (ENOENT -> NotFound, EACCES ->
// PermissionDenied, ...) and the message names the operation and the thing it acted on.
absl::Status ErrnoStatus(int err, std::string_view what);

}  // namespace kata
