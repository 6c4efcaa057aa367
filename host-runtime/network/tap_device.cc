#include "host-runtime/network/tap_device.h"

#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <netlink/route/link.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

struct LinkPtr {
  rtnl_link* p = rtnl_link_alloc();
  ~LinkPtr() { rtnl_link_put(p); }
};

}  // namespace

absl::StatusOr<TapDevice> CreateTap(const netlink::RtnlSocket& sock, const std::string& name, uint32_t mtu) {
  if (name.empty() || name.size() >= IFNAMSIZ) return absl::InvalidArgumentError(StrCat("tap name \"", name, "\" is not 1 to 15 bytes"));
  TapDevice tap;
  tap.name = name;
  tap.fd.reset(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tap.fd.valid()) return ErrnoStatus(errno, "open /dev/net/tun (the tun module)");
  ifreq ifr = {};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_ONE_QUEUE;
  if (::ioctl(tap.fd.get(), TUNSETIFF, &ifr) != 0) return ErrnoStatus(errno, StrCat("create tap ", name));
  tap.index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (tap.index == 0) return ErrnoStatus(errno, StrCat("find tap ", name));
  LinkPtr orig, change;
  rtnl_link_set_ifindex(orig.p, tap.index);
  rtnl_link_set_mtu(change.p, mtu);
  rtnl_link_set_flags(change.p, IFF_UP);
  if (int e = rtnl_link_change(sock.get(), orig.p, change.p, 0); e < 0) {
    return netlink::NetlinkStatus(e, StrCat("set mtu ", mtu, " and up on tap ", name));
  }
  return tap;
}

absl::Status DeleteLink(const netlink::RtnlSocket& sock, int index, const std::string& name) {
  LinkPtr link;
  rtnl_link_set_ifindex(link.p, index);
  if (int e = rtnl_link_delete(sock.get(), link.p); e < 0) return netlink::NetlinkStatus(e, StrCat("delete link ", name));
  return absl::OkStatus();
}

absl::Status SetTxQueueLength(const netlink::RtnlSocket& sock, int index, const std::string& name, uint32_t length) {
  LinkPtr orig, change;
  rtnl_link_set_ifindex(orig.p, index);
  rtnl_link_set_txqlen(change.p, length);
  if (int e = rtnl_link_change(sock.get(), orig.p, change.p, 0); e < 0) {
    return netlink::NetlinkStatus(e, StrCat("set txqueuelen ", length, " on ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenVhostNet(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open ", path));
  return fd;
}

}  // namespace kata::runtime
