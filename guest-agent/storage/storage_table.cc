#include "guest-agent/storage/storage_table.h"

namespace kata::guest {

bool StorageTable::Acquire(const std::string& mount_point) {
  auto it = entries_.find(mount_point);
  if (it == entries_.end()) return false;
  ++it->second.refcount;
  return true;
}

void StorageTable::Insert(const std::string& mount_point, UndoLog teardown) {
  entries_[mount_point] = Entry{1, std::move(teardown)};
}

std::optional<UndoLog> StorageTable::Release(const std::string& mount_point) {
  auto it = entries_.find(mount_point);
  if (it == entries_.end()) return std::nullopt;
  if (--it->second.refcount > 0) return std::nullopt;
  UndoLog teardown = std::move(it->second.teardown);
  entries_.erase(it);
  return teardown;
}

int StorageTable::RefCount(const std::string& mount_point) const {
  auto it = entries_.find(mount_point);
  return it == entries_.end() ? 0 : it->second.refcount;
}

std::vector<std::string> StorageTable::MountPoints() const {
  std::vector<std::string> out;
  for (const auto& [mp, e] : entries_) out.push_back(mp);
  return out;
}

}  // namespace kata::guest
