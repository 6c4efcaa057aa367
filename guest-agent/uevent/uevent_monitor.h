#pragma once

// Listens to the kernel's uevents (NETLINK_KOBJECT_UEVENT) and feeds a UeventStore, after
// seeding it from sysfs with the block devices that already exist.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "guest-agent/uevent/uevent_store.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

class UeventMonitor {
 public:
  // Opens and binds the netlink socket first, then seeds from <sysfs_root>/class/block, then
  // starts reading: a device that appears during seeding is seen by one or the other.
  static absl::StatusOr<std::unique_ptr<UeventMonitor>> Start(UeventStore& store,
                                                              std::string sysfs_root = "/sys");
  ~UeventMonitor();  // stops and joins the reader thread

  UeventMonitor(const UeventMonitor&) = delete;
  UeventMonitor& operator=(const UeventMonitor&) = delete;

 private:
  UeventMonitor(UeventStore& store, std::string sysfs_root, UniqueFd sock, UniqueFd stop);
  void Seed();
  void Run();

  UeventStore& store_;
  const std::string sysfs_root_;
  UniqueFd sock_;
  UniqueFd stop_;  // eventfd that ends Run()
  std::thread reader_;
};

}  // namespace kata::guest
