#include "libkata/netlink/rtnl.h"

#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <cstring>

#include "libkata/base/str_cat.h"

namespace kata::netlink {
namespace {

// A libnl cache, freed when it goes.
struct Cache {
  nl_cache* cache = nullptr;
  ~Cache() {
    if (cache != nullptr) nl_cache_free(cache);
  }
};

template <typename T, typename F>
void ForEach(nl_cache* cache, F&& f) {
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) f(reinterpret_cast<T*>(o));
}

std::optional<net::MacAddress> ToMac(const nl_addr* addr) {
  if (addr == nullptr || nl_addr_get_len(addr) != 6) return std::nullopt;
  net::MacAddress mac;
  std::memcpy(mac.data(), nl_addr_get_binary_addr(addr), 6);
  return mac;
}

}  // namespace

absl::Status NetlinkStatus(int nl_error, std::string_view what) {
  const int e = nl_error < 0 ? -nl_error : nl_error;
  const std::string message = StrCat(what, ": ", nl_geterror(e));
  switch (e) {
    case NLE_EXIST: return absl::AlreadyExistsError(message);
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV: return absl::NotFoundError(message);
    case NLE_PERM:
    case NLE_NOACCESS: return absl::PermissionDeniedError(message);
    case NLE_INVAL:
    case NLE_RANGE:
    case NLE_AF_NOSUPPORT:
    case NLE_OPNOTSUPP: return absl::InvalidArgumentError(message);
    case NLE_BUSY:
    case NLE_AGAIN: return absl::UnavailableError(message);
    default: return absl::InternalError(message);
  }
}

absl::StatusOr<RtnlSocket> RtnlSocket::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return absl::ResourceExhaustedError("netlink socket: out of memory");
  if (int e = nl_connect(sock, NETLINK_ROUTE); e < 0) {
    nl_socket_free(sock);
    return NetlinkStatus(e, "connect a NETLINK_ROUTE socket");
  }
  return RtnlSocket(sock);
}

RtnlSocket& RtnlSocket::operator=(RtnlSocket&& other) noexcept {
  if (this != &other) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(other.sock_, nullptr);
  }
  return *this;
}

RtnlSocket::~RtnlSocket() {
  if (sock_ != nullptr) nl_socket_free(sock_);  // closes it
}

std::optional<net::IpAddress> ToIpAddress(const nl_addr* addr) {
  if (addr == nullptr) return std::nullopt;
  const int family = nl_addr_get_family(addr);
  const size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (want == 0 || nl_addr_get_len(addr) != want) return std::nullopt;
  net::IpAddress a;
  a.family = family;
  std::memcpy(a.bytes.data(), nl_addr_get_binary_addr(addr), want);
  return a;
}

nl_addr* ToNlAddr(const net::IpAddress& address, int prefix_length) {
  nl_addr* a = nl_addr_build(address.family, address.bytes.data(), address.size());
  if (a != nullptr && prefix_length >= 0) nl_addr_set_prefixlen(a, prefix_length);
  return a;
}

nl_addr* ToNlAddr(const net::MacAddress& mac) { return nl_addr_build(AF_LLC, mac.data(), mac.size()); }

absl::StatusOr<std::vector<LinkInfo>> ListLinks(const RtnlSocket& sock) {
  Cache c;
  if (int e = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &c.cache); e < 0) return NetlinkStatus(e, "list links");
  std::vector<LinkInfo> links;
  ForEach<rtnl_link>(c.cache, [&](rtnl_link* l) {
    LinkInfo info;
    info.index = rtnl_link_get_ifindex(l);
    if (const char* name = rtnl_link_get_name(l)) info.name = name;
    if (const char* kind = rtnl_link_get_type(l)) info.kind = kind;
    info.mac = ToMac(rtnl_link_get_addr(l));
    info.mtu = rtnl_link_get_mtu(l);
    info.flags = rtnl_link_get_flags(l);
    info.txqlen = rtnl_link_get_txqlen(l);
    links.push_back(std::move(info));
  });
  return links;
}

absl::StatusOr<std::vector<AddressInfo>> ListAddresses(const RtnlSocket& sock) {
  Cache c;
  if (int e = rtnl_addr_alloc_cache(sock.get(), &c.cache); e < 0) return NetlinkStatus(e, "list addresses");
  std::vector<AddressInfo> addresses;
  ForEach<rtnl_addr>(c.cache, [&](rtnl_addr* a) {
    auto local = ToIpAddress(rtnl_addr_get_local(a));
    if (!local) return;
    AddressInfo info;
    info.index = rtnl_addr_get_ifindex(a);
    info.prefix = {*local, rtnl_addr_get_prefixlen(a)};
    info.scope = rtnl_addr_get_scope(a);
    info.flags = rtnl_addr_get_flags(a);
    addresses.push_back(info);
  });
  return addresses;
}

absl::StatusOr<std::vector<RouteInfo>> ListRoutes(const RtnlSocket& sock) {
  Cache c;
  if (int e = rtnl_route_alloc_cache(sock.get(), AF_UNSPEC, 0, &c.cache); e < 0) return NetlinkStatus(e, "list routes");
  std::vector<RouteInfo> routes;
  ForEach<rtnl_route>(c.cache, [&](rtnl_route* r) {
    RouteInfo info;
    info.family = rtnl_route_get_family(r);
    if (info.family != AF_INET && info.family != AF_INET6) return;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (auto d = ToIpAddress(dst)) {
      info.dest = {*d, static_cast<int>(nl_addr_get_prefixlen(dst))};
    } else {
      info.dest.address.family = info.family;  // the default route: all zero, length 0
    }
    info.source = ToIpAddress(rtnl_route_get_pref_src(r));
    info.scope = rtnl_route_get_scope(r);
    info.protocol = rtnl_route_get_protocol(r);
    info.table = rtnl_route_get_table(r);
    info.type = rtnl_route_get_type(r);
    info.flags = rtnl_route_get_flags(r);
    uint32_t mtu = 0;
    if (rtnl_route_get_metric(r, RTAX_MTU, &mtu) == 0) info.mtu = mtu;
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      info.index = rtnl_route_nh_get_ifindex(nh);
      info.gateway = ToIpAddress(rtnl_route_nh_get_gateway(nh));
    }
    routes.push_back(info);
  });
  return routes;
}

absl::StatusOr<std::vector<NeighborInfo>> ListNeighbors(const RtnlSocket& sock) {
  Cache c;
  if (int e = rtnl_neigh_alloc_cache(sock.get(), &c.cache); e < 0) return NetlinkStatus(e, "list neighbours");
  std::vector<NeighborInfo> neighbors;
  ForEach<rtnl_neigh>(c.cache, [&](rtnl_neigh* n) {
    auto dst = ToIpAddress(rtnl_neigh_get_dst(n));
    if (!dst) return;
    NeighborInfo info;
    info.index = rtnl_neigh_get_ifindex(n);
    info.address = *dst;
    info.lladdr = ToMac(rtnl_neigh_get_lladdr(n));
    info.state = rtnl_neigh_get_state(n);
    info.flags = static_cast<int>(rtnl_neigh_get_flags(n));
    neighbors.push_back(info);
  });
  return neighbors;
}

}  // namespace kata::netlink
