#pragma once

// What a request did, so it can be undone in reverse: on failure (rollback) or when the
// last user of a storage goes (teardown).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "guest-agent/storage/mounter.h"

namespace kata::guest {

class UndoLog {
 public:
  enum class Kind {
    kUnmount,
    kRemoveDir,             // a mount point or workspace directory we created
    kRemoveDirOnRollback,   // a directory created inside a mounted filesystem: part of the
                            // container's data once the request succeeded, so kept on teardown
  };
  struct Action {
    Kind kind;
    std::string path;
  };

  void Mounted(const std::string& target) { actions_.push_back({Kind::kUnmount, target}); }
  void CreatedDirs(const std::vector<std::string>& dirs, bool inside_mount = false);
  void Append(UndoLog&& other);

  // Undoes every action in reverse order; goes on past failures and returns the first.
  absl::Status Rollback(Mounter& mounter);
  // The same, but keeps directories created inside mounted filesystems.
  absl::Status Teardown(Mounter& mounter);

  const std::vector<Action>& actions() const { return actions_; }
  bool empty() const { return actions_.empty(); }

 private:
  absl::Status Run(Mounter& mounter, bool rollback);
  std::vector<Action> actions_;
};

}  // namespace kata::guest
