#pragma once

// Turns a storage or device source into the guest's device node, waiting for it to appear.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "guest-agent/uevent/uevent_store.h"

namespace kata::guest {

class BlockDeviceWaiter {
 public:
  virtual ~BlockDeviceWaiter() = default;
  // `source` is a PCI path ("02/00") or a device path ("/dev/vdb"). Returns "/dev/<name>".
  virtual absl::StatusOr<std::string> WaitForBlockDevice(const std::string& source,
                                                         absl::Duration timeout) = 0;
};

// The real one: matches uevents in `store` (fed by a UeventMonitor).
class UeventBlockDeviceWaiter : public BlockDeviceWaiter {
 public:
  UeventBlockDeviceWaiter(UeventStore& store, std::string sysfs_root = "/sys",
                          std::string dev_root = "/dev")
      : store_(store), sysfs_root_(std::move(sysfs_root)), dev_root_(std::move(dev_root)) {}

  absl::StatusOr<std::string> WaitForBlockDevice(const std::string& source,
                                                 absl::Duration timeout) override;

 private:
  UeventStore& store_;
  const std::string sysfs_root_;
  const std::string dev_root_;
};

}  // namespace kata::guest
