#pragma once

// The filesystem actions storage handlers take, behind an interface so the deciding logic
// (grouping, planning, undo) is unit-tested without privileges; SyscallMounter does them.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kata::guest {

class Mounter {
 public:
  virtual ~Mounter() = default;
  virtual absl::Status Mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  virtual absl::Status Unmount(const std::string& target) = 0;
  // mkdir -p of `path` inside `root`, symlinks resolved within root only. Returns the real
  // path of the directory and appends the directories it created to `created`.
  virtual absl::StatusOr<std::string> MkdirAll(const std::string& root, const std::string& path,
                                               mode_t mode, std::vector<std::string>* created) = 0;
  virtual absl::Status Chown(const std::string& path, uid_t uid, gid_t gid) = 0;
  virtual absl::Status Chmod(const std::string& path, mode_t mode) = 0;
  virtual absl::Status RemoveDir(const std::string& path) = 0;
};

class SyscallMounter : public Mounter {
 public:
  absl::Status Mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override;
  absl::Status Unmount(const std::string& target) override;
  absl::StatusOr<std::string> MkdirAll(const std::string& root, const std::string& path,
                                       mode_t mode, std::vector<std::string>* created) override;
  absl::Status Chown(const std::string& path, uid_t uid, gid_t gid) override;
  absl::Status Chmod(const std::string& path, mode_t mode) override;
  absl::Status RemoveDir(const std::string& path) override;
};

}  // namespace kata::guest
