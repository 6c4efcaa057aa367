#include "guest-agent/network/network_report.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "libkata/base/str_cat.h"

namespace kata::guest {

agent::Interface DescribeLink(const netlink::LinkInfo& link, const std::vector<netlink::AddressInfo>& addresses) {
  agent::Interface out;
  out.set_device(link.name);
  out.set_name(link.name);
  out.set_mtu(link.mtu);
  if (link.mac) out.set_hwaddr(net::FormatMacAddress(*link.mac));
  out.set_type(link.kind);
  out.set_raw_flags(link.flags & IFF_NOARP);
  for (const auto& a : addresses) {
    if (a.index != link.index) continue;
    agent::IPAddress* ip = out.add_ipaddresses();
    ip->set_family(a.prefix.address.is_v4() ? agent::v4 : agent::v6);
    ip->set_address(net::FormatIpAddress(a.prefix.address));
    ip->set_mask(StrCat(a.prefix.length));
  }
  return out;
}

agent::Interfaces DescribeLinks(const std::vector<netlink::LinkInfo>& links,
                                const std::vector<netlink::AddressInfo>& addresses) {
  agent::Interfaces out;
  for (const auto& l : links) *out.add_interfaces() = DescribeLink(l, addresses);
  return out;
}

std::optional<agent::Route> DescribeRoute(const netlink::RouteInfo& route, const std::vector<netlink::LinkInfo>& links) {
  if (route.table != RT_TABLE_MAIN || route.type != RTN_UNICAST) return std::nullopt;
  const netlink::LinkInfo* link = nullptr;
  for (const auto& l : links) {
    if (l.index == route.index) link = &l;
  }
  if (link == nullptr) return std::nullopt;
  agent::Route out;
  if (route.dest.length > 0) out.set_dest(net::FormatIpPrefix(route.dest));
  if (route.gateway) out.set_gateway(net::FormatIpAddress(*route.gateway));
  out.set_device(link->name);
  if (route.source) out.set_source(net::FormatIpAddress(*route.source));
  out.set_scope(static_cast<uint32_t>(route.scope));
  out.set_family(route.family == AF_INET6 ? agent::v6 : agent::v4);
  out.set_flags(route.flags);
  out.set_mtu(route.mtu);
  return out;
}

agent::Routes DescribeRoutes(const std::vector<netlink::RouteInfo>& routes, const std::vector<netlink::LinkInfo>& links) {
  agent::Routes out;
  for (const auto& r : routes) {
    if (auto described = DescribeRoute(r, links)) *out.add_routes() = *std::move(described);
  }
  return out;
}

}  // namespace kata::guest
