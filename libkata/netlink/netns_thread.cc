#include "libkata/netlink/netns_thread.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <thread>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::netlink {

absl::Status RunInNetns(const std::string& netns_path, const std::function<absl::Status()>& work) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return ErrnoStatus(errno, StrCat("open network namespace ", netns_path));
  absl::Status result;
  std::thread t([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = ErrnoStatus(errno, StrCat("enter network namespace ", netns_path));
      return;
    }
    result = work();
  });
  t.join();
  return result;
}

}  // namespace kata::netlink
