#pragma once

// The steps handlers share: make a mount point and mount on it, recording both.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// Creates `target` (mkdir -p) and mounts `source` there with `options` (markers filtered,
// flags and data through libmount's table); `extra_flags` are or-ed in (MS_RDONLY for
// lowers). Records the created directories and the mount in ctx.undo.
absl::Status MountOnNewTarget(const std::string& source, const std::string& target,
                              const std::string& fstype, const std::vector<std::string>& options,
                              unsigned long extra_flags, StorageContext& ctx);

// mkdir -p of `path` (absolute), recording what it created in ctx.undo.
absl::StatusOr<std::string> MakeDirectory(const std::string& path, mode_t mode, StorageContext& ctx);

std::vector<std::string> OptionsOf(const agent::Storage& storage);

}  // namespace kata::guest
