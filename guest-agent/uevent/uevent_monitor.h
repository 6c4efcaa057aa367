#pragma once

// Listens to the kernel's uevents (NETLINK_KOBJECT_UEVENT) and feeds a UeventStore, after
// seeding it from sysfs with the block devices that already exist.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "guest-agent/uevent/uevent_store.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

// The kernel's uevent socket, bound to its multicast group.
absl::StatusOr<UniqueFd> OpenUeventSocket();

class UeventMonitor {
 public:
  using SocketOpener = std::function<absl::StatusOr<UniqueFd>()>;
  // Opens and binds the netlink socket first; the reader thread then seeds from
  // <sysfs_root>/class/block and starts reading: a device that appears during seeding is seen
  // by one or the other, and a waiter hears a seeded device as it hears an event. Should
  // reading fail, the socket is opened again and the store re-seeded; should that fail too,
  // the store is broken (UeventStore::Break): waiters fail at once, naming why, instead of
  // timing out as if the device never came. `open` is the kernel's socket but in tests.
  static absl::StatusOr<std::unique_ptr<UeventMonitor>> Start(UeventStore& store, std::string sysfs_root = "/sys",
                                                              SocketOpener open = OpenUeventSocket);
  ~UeventMonitor();  // stops and joins the reader thread

  UeventMonitor(const UeventMonitor&) = delete;
  UeventMonitor& operator=(const UeventMonitor&) = delete;

 private:
  UeventMonitor(UeventStore& store, std::string sysfs_root, SocketOpener open, UniqueFd sock, UniqueFd stop);
  void Seed();
  void Run();
  // After a read error: a new socket and a re-seed, or the store broken. False when it stops.
  bool Recover(const std::string& what, int err);

  UeventStore& store_;
  const std::string sysfs_root_;
  const SocketOpener open_;
  UniqueFd sock_;
  UniqueFd stop_;  // eventfd that ends Run()
  int recoveries_ = 0;  // reader thread only
  std::thread reader_;
};

}  // namespace kata::guest
