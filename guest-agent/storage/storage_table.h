#pragma once

// The sandbox's storages, refcounted by mount point: containers that name the same storage
// share one mount, and the last one to go unmounts it.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guest-agent/storage/undo_log.h"

namespace kata::guest {

// Not locked: the StorageManager that owns it serialises access.
class StorageTable {
 public:
  bool Contains(const std::string& mount_point) const { return entries_.count(mount_point) > 0; }
  // Bumps the count of an existing entry; false when there is none.
  bool Acquire(const std::string& mount_point);
  // A new entry with count 1 and the teardown to run when the count reaches zero.
  void Insert(const std::string& mount_point, UndoLog teardown);
  // Drops one reference; at zero the entry goes and its teardown is returned to run.
  std::optional<UndoLog> Release(const std::string& mount_point);

  int RefCount(const std::string& mount_point) const;
  std::vector<std::string> MountPoints() const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int refcount = 0;
    UndoLog teardown;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace kata::guest
