#pragma once

// A storage handler makes one kind of Storage (by driver name) available in the guest.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "guest-agent/device/block_device_waiter.h"
#include "guest-agent/storage/mounter.h"
#include "guest-agent/storage/undo_log.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

// What a handler may use while adding a storage. Everything it does goes into `undo`.
struct StorageContext {
  std::string container_id;
  std::string container_dir;  // <run dir>/<container id>: the container's private workspace
  absl::Duration hotplug_timeout;
  Mounter& mounter;
  BlockDeviceWaiter& devices;
  UndoLog& undo;
};

class StorageHandler {
 public:
  virtual ~StorageHandler() = default;
  virtual std::vector<std::string> DriverTypes() const = 0;
  // Checks the storage before anything is done (pure).
  virtual absl::Status Validate(const agent::Storage& storage) const = 0;
  // Makes the storage available at storage.mount_point.
  virtual absl::Status Add(const agent::Storage& storage, StorageContext& ctx) = 0;
};

}  // namespace kata::guest
