#pragma once

// Adds a request's storages all-or-nothing and removes them when their last user goes.

#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "guest-agent/device/block_device_waiter.h"
#include "guest-agent/storage/handler_registry.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "guest-agent/storage/storage_table.h"

namespace kata::guest {

struct StorageManagerOptions {
  std::string run_dir;                       // containers' workspaces: <run_dir>/<container id>
  std::vector<std::string> allowed_mount_roots;  // every mount point lies below one of them
};

class StorageManager {
 public:
  StorageManager(StorageManagerOptions options, const StorageHandlerRegistry& registry,
                 MultiLayerErofsHandler& multi_layer, Mounter& mounter, BlockDeviceWaiter& devices);

  // Validates every storage first (container id, mount points, drivers, the multi-layer
  // group), then adds them in order; a mount point already in the table is shared (its count
  // bumped) and mounts nothing. Returns the distinct mount points in first-seen order: what
  // the container holds and later passes to RemoveStorages. On failure everything this call
  // did is undone and the first error returned.
  absl::StatusOr<std::vector<std::string>> AddStorages(
      const std::string& container_id,
      const google::protobuf::RepeatedPtrField<agent::Storage>& storages,
      absl::Duration hotplug_timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops one reference to each mount point (in reverse order); the last reference unmounts
  // and removes what was created. Goes on past failures and returns the first.
  absl::Status RemoveStorages(const std::vector<std::string>& mount_points) ABSL_LOCKS_EXCLUDED(mu_);

  int RefCount(const std::string& mount_point) const ABSL_LOCKS_EXCLUDED(mu_);
  size_t StorageCount() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status ReleaseLocked(const std::vector<std::string>& mount_points) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StorageManagerOptions options_;
  const StorageHandlerRegistry& registry_;
  MultiLayerErofsHandler& multi_layer_;
  Mounter& mounter_;
  BlockDeviceWaiter& devices_;

  mutable absl::Mutex mu_;
  StorageTable table_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> adding_ ABSL_GUARDED_BY(mu_);  // mount points being added right now, unlocked
};

}  // namespace kata::guest
