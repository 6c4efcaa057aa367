#pragma once

// Mount option lists (as in fstab, OCI mounts and containerd Mounts) <-> mount(2)'s flags and
// data string, with mount(8)'s vocabulary (checked against libmount's tables in mount_test).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::mount {

struct MountOptions {
  unsigned long flags = 0;  // MS_* for mount(2)
  std::string data;         // filesystem-specific options, comma-joined ("lowerdir=...,upperdir=...")
  std::vector<std::string> userspace;  // options mount(8) keeps for itself (nofail, X-mount.*, ...)
};

// Splits an option list into flags, data and userspace options. Empty entries are skipped.
// An option holding a comma or NUL is InvalidArgument naming it (it would be split, or cut,
// differently by the kernel than here).
absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options);

// Our markers travel among the mount options but are never handed to mount(2):
// `X-kata.*` (runtime <-> agent directives), `loop` (host-side loop setup) and `device=`
// (EROFS extra blobs, which become devices of their own in the guest).
bool IsKataMarker(std::string_view option);

struct SplitResult {
  std::vector<std::string> mount_options;  // for ParseMountOptions / mount(2)
  std::vector<std::string> markers;        // in the order given
};
SplitResult SplitKataMarkers(const std::vector<std::string>& options);

// The value of the first `key=value` option whose key is `key` (`key` alone gives "").
std::optional<std::string> FindOptionValue(const std::vector<std::string>& options,
                                           std::string_view key);

// Every value of `key=value` options, in order (e.g. all `X-kata.mkdir.path=` directives).
std::vector<std::string> FindAllOptionValues(const std::vector<std::string>& options,
                                             std::string_view key);

}  // namespace kata::mount
