#include "guest-agent/storage/storage_manager.h"

#include <algorithm>

#include "guest-agent/storage/storage_validation.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("storage");
}

StorageManager::StorageManager(StorageManagerOptions options, const StorageHandlerRegistry& registry,
                               MultiLayerErofsHandler& multi_layer, Mounter& mounter,
                               BlockDeviceWaiter& devices)
    : options_(std::move(options)),
      registry_(registry),
      multi_layer_(multi_layer),
      mounter_(mounter),
      devices_(devices) {}

absl::StatusOr<std::vector<std::string>> StorageManager::AddStorages(
    const std::string& container_id, const google::protobuf::RepeatedPtrField<agent::Storage>& storages,
    absl::Duration hotplug_timeout) {
  ASSIGN_OR_RETURN(std::optional<MultiLayerPlan> plan,
                   ValidateStorages(container_id, storages, registry_, options_.allowed_mount_roots));

  absl::MutexLock lock(&mu_);
  std::vector<std::string> held;  // mount points this call took a reference on, first-seen order
  auto holds = [&held](const std::string& mp) { return std::find(held.begin(), held.end(), mp) != held.end(); };
  const std::string container_dir = StrCat(options_.run_dir, "/", container_id);
  bool group_done = false;

  for (const agent::Storage& s : storages) {
    const bool multi = IsMultiLayer(s);
    if (multi && group_done) continue;  // the group is handled once, at its first member
    const std::string& mp = multi ? plan->mount_point : s.mount_point();
    if (multi) group_done = true;
    if (holds(mp)) continue;  // named twice in one request: one reference
    // Another request is adding this very mount point: its outcome decides (shared, or ours to add).
    auto not_being_added = [this, &mp]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !adding_.contains(mp); };
    mu_.Await(absl::Condition(&not_being_added));
    if (table_.Acquire(mp)) {
      held.push_back(mp);
      kLog.Debug("storage shared", {{"mount_point", mp}, {"refcount", table_.RefCount(mp)}});
      continue;
    }
    UndoLog undo;
    StorageContext ctx{container_id, container_dir, hotplug_timeout, mounter_, devices_, undo};
    // Added without the lock: a storage waits for its device (up to the hot-plug timeout), and
    // other containers' storages must not wait behind it.
    adding_.insert(mp);
    mu_.Unlock();
    const absl::Status added = multi ? multi_layer_.AddGroup(*plan, ctx)
                                     : registry_.Find(s.driver())->Add(s, ctx);
    mu_.Lock();
    adding_.erase(mp);
    if (!added.ok()) {
      kLog.Error("storage failed; undoing this request",
                 {{"container_id", container_id}, {"mount_point", mp}, {"error", std::string(added.message())}});
      (void)undo.Rollback(mounter_);
      (void)ReleaseLocked(held);
      return added;
    }
    table_.Insert(mp, std::move(undo));
    held.push_back(mp);
    kLog.Info("storage added", {{"container_id", container_id}, {"driver", multi ? kMultiLayerDriver : s.driver()},
                                {"mount_point", mp}});
  }
  return held;
}

absl::Status StorageManager::ReleaseLocked(const std::vector<std::string>& mount_points) {
  absl::Status first;
  for (auto it = mount_points.rbegin(); it != mount_points.rend(); ++it) {
    std::optional<UndoLog> teardown = table_.Release(*it);
    if (!teardown) continue;
    absl::Status s = teardown->Teardown(mounter_);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

absl::Status StorageManager::RemoveStorages(const std::vector<std::string>& mount_points) {
  absl::MutexLock lock(&mu_);
  return ReleaseLocked(mount_points);
}

int StorageManager::RefCount(const std::string& mount_point) const {
  absl::MutexLock lock(&mu_);
  return table_.RefCount(mount_point);
}

size_t StorageManager::StorageCount() const {
  absl::MutexLock lock(&mu_);
  return table_.size();
}

}  // namespace kata::guest
