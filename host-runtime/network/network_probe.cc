#include "host-runtime/network/network_probe.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "host-runtime/network/tap_device.h"
#include "host-runtime/network/tc_redirect.h"
#include "libkata/base/errno_status.h"
#include "libkata/netlink/rtnl.h"

namespace kata::runtime {

HostNetworkSupport ProbeHostNetworking(const std::string& vhost_net) {
  HostNetworkSupport out;
  out.tap = out.tc_mirred = absl::UnknownError("not probed");
  // A thread in a network namespace of its own: what it makes goes with it.
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      out.tap = out.tc_mirred = ErrnoStatus(errno, "unshare a network namespace for the probe");
      return;
    }
    auto sock = netlink::RtnlSocket::Open();
    if (!sock.ok()) {
      out.tap = out.tc_mirred = sock.status();
      return;
    }
    auto a = CreateTap(*sock, "probe0_kata", 1500);
    auto b = a.ok() ? CreateTap(*sock, "probe1_kata", 1500) : a.status();
    out.tap = b.status();
    if (!b.ok()) {
      out.tc_mirred = absl::FailedPreconditionError("needs taps to probe");
      return;
    }
    out.tc_mirred = AddIngressRedirect(*sock, {a->index, a->name}, {b->index, b->name});
  });
  t.join();
  const int fd = ::open(vhost_net.c_str(), O_RDWR | O_CLOEXEC);
  out.vhost_net = fd >= 0;
  if (fd >= 0) ::close(fd);
  return out;
}

}  // namespace kata::runtime
