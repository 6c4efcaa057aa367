#pragma once

// Reading a network namespace over rtnetlink, through libnl-route-3 (a well-kept library:
// its caches parse every attribute we need), into plain structs. A socket belongs to the
// network namespace of the thread that opened it, for its whole life: open it in the
// namespace to be read (netns_thread.h) and use it from anywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/net/ip_address.h"

struct nl_sock;
struct nl_addr;

namespace kata::netlink {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "veth", "tun", "bridge"...; empty for a plain NIC or lo
  std::optional<net::MacAddress> mac;
  uint32_t mtu = 0;
  uint32_t flags = 0;  // IFF_*
  uint32_t txqlen = 0;
};

struct AddressInfo {
  int index = 0;
  net::IpPrefix prefix;  // the local address and its prefix length
  int scope = 0;
  uint32_t flags = 0;  // IFA_F_*
};

struct RouteInfo {
  int family = 0;
  net::IpPrefix dest;  // length 0: a default route
  std::optional<net::IpAddress> gateway;
  std::optional<net::IpAddress> source;  // RTA_PREFSRC
  int index = 0;  // the first next hop's output link
  int scope = 0;
  int protocol = 0;  // RTPROT_*: RTPROT_KERNEL for the kernel's own
  uint32_t table = 0;
  int type = 0;  // RTN_*
  uint32_t flags = 0;
  uint32_t mtu = 0;  // RTAX_MTU, 0 when unset
};

struct NeighborInfo {
  int index = 0;
  net::IpAddress address;
  std::optional<net::MacAddress> lladdr;
  int state = 0;  // NUD_*
  int flags = 0;
};

// A libnl error as a status naming what failed.
absl::Status NetlinkStatus(int nl_error, std::string_view what);

// A connected NETLINK_ROUTE socket, in the opening thread's network namespace.
class RtnlSocket {
 public:
  static absl::StatusOr<RtnlSocket> Open();
  RtnlSocket(RtnlSocket&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}
  RtnlSocket& operator=(RtnlSocket&& other) noexcept;
  RtnlSocket(const RtnlSocket&) = delete;
  RtnlSocket& operator=(const RtnlSocket&) = delete;
  ~RtnlSocket();
  nl_sock* get() const { return sock_; }

 private:
  explicit RtnlSocket(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_ = nullptr;
};

absl::StatusOr<std::vector<LinkInfo>> ListLinks(const RtnlSocket& sock);
absl::StatusOr<std::vector<AddressInfo>> ListAddresses(const RtnlSocket& sock);
// Every table's routes, IPv4 and IPv6.
absl::StatusOr<std::vector<RouteInfo>> ListRoutes(const RtnlSocket& sock);
absl::StatusOr<std::vector<NeighborInfo>> ListNeighbors(const RtnlSocket& sock);

// libnl's address <-> ours. An empty or absent address is nullopt.
std::optional<net::IpAddress> ToIpAddress(const nl_addr* addr);
// Owned by the caller (nl_addr_put); `prefix_length` < 0 leaves it unset.
nl_addr* ToNlAddr(const net::IpAddress& address, int prefix_length = -1);
nl_addr* ToNlAddr(const net::MacAddress& mac);

}  // namespace kata::netlink
