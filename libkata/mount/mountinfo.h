#pragma once

// Queries on the mount table (/proc/self/mountinfo), parsed by libmount.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::mount {

struct MountEntry {
  int id = 0;
  int parent_id = 0;
  dev_t devno = 0;
  std::string root;         // the mounted subtree of the source filesystem
  std::string target;       // the mount point (unescaped)
  std::string source;
  std::string fstype;
  std::string vfs_options;  // per-mount: rw, nosuid, ...
  std::string fs_options;   // per-superblock: lowerdir=..., size=...
};

// Parses a mountinfo file (default: this process's).
absl::StatusOr<std::vector<MountEntry>> ReadMountInfo(
    const std::string& path = "/proc/self/mountinfo");

// Entries whose target is `dir` itself or lies below it, in mount order. `dir` must be
// absolute and canonical (no trailing slash but for "/"). Pure: works on a parsed table.
std::vector<MountEntry> MountsUnder(const std::vector<MountEntry>& table, const std::string& dir);

// True when something is mounted on exactly `path` (after resolving symlinks in it).
absl::StatusOr<bool> IsMountPoint(const std::string& path);

// Mounts on or below `dir` (after resolving symlinks), in mount order.
absl::StatusOr<std::vector<MountEntry>> ListMountsUnder(const std::string& dir);

}  // namespace kata::mount
