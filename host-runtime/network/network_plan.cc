#include "host-runtime/network/network_plan.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

bool IsLinkLocal(const net::IpAddress& a) {
  return a.is_v4() ? (a.bytes[0] == 169 && a.bytes[1] == 254) : (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80);
}

agent::IPFamily FamilyOf(const net::IpAddress& a) { return a.is_v4() ? agent::v4 : agent::v6; }

}  // namespace

bool IsOurTapName(const std::string& name) { return name.starts_with("tap") && name.ends_with("_kata"); }

absl::StatusOr<NetworkPlan> PlanNetwork(const NetnsSnapshot& snapshot) {
  NetworkPlan plan;
  for (const netlink::LinkInfo& link : snapshot.links) {
    if (link.flags & IFF_LOOPBACK) {
      plan.skipped.push_back(StrCat(link.name, " (loopback)"));
      continue;
    }
    if (IsOurTapName(link.name)) {
      plan.skipped.push_back(StrCat(link.name, " (a tap of this runtime)"));
      continue;
    }
    std::vector<net::IpPrefix> addresses;
    for (const netlink::AddressInfo& a : snapshot.addresses) {
      if (a.index == link.index && a.scope == RT_SCOPE_UNIVERSE && !IsLinkLocal(a.prefix.address)) addresses.push_back(a.prefix);
    }
    if (addresses.empty()) {
      plan.skipped.push_back(StrCat(link.name, " (no address)"));
      continue;
    }
    if (link.kind != "veth" && link.kind != "macvlan" && link.kind != "ipvlan" && link.kind != "tun") {
      return absl::InvalidArgumentError(StrCat("network namespace link ", link.name, " is of kind \"",
                                               link.kind.empty() ? "device" : link.kind,
                                               "\": only veth, macvlan, ipvlan and tap links reach the VM"));
    }
    if (!link.mac) return absl::InvalidArgumentError(StrCat("network namespace link ", link.name, " has no MAC address"));
    NetworkEndpoint e;
    e.link = link;
    e.tap_name = StrCat("tap", plan.endpoints.size(), "_kata");
    agent::Interface& i = e.interface;
    i.set_device(link.name);
    i.set_name(link.name);
    i.set_mtu(link.mtu);
    i.set_hwaddr(net::FormatMacAddress(*link.mac));
    i.set_type(link.kind);
    i.set_raw_flags(link.flags & IFF_NOARP);
    for (const net::IpPrefix& p : addresses) {
      agent::IPAddress* ip = i.add_ipaddresses();
      ip->set_family(FamilyOf(p.address));
      ip->set_address(net::FormatIpAddress(p.address));
      ip->set_mask(StrCat(p.length));
    }
    // The link's routes of the main table, but not the kernel's own (its subnets, which the
    // guest's kernel makes itself from the addresses).
    for (const netlink::RouteInfo& r : snapshot.routes) {
      if (r.index != link.index || r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST || r.protocol == RTPROT_KERNEL) continue;
      if (!r.dest.address.is_v4() && r.dest.length > 0 && IsLinkLocal(r.dest.address)) continue;
      agent::Route* route = plan.routes.add_routes();
      if (r.dest.length > 0) route->set_dest(net::FormatIpPrefix(r.dest));
      if (r.gateway) route->set_gateway(net::FormatIpAddress(*r.gateway));
      route->set_device(link.name);
      if (r.source) route->set_source(net::FormatIpAddress(*r.source));
      route->set_scope(static_cast<uint32_t>(r.scope));
      route->set_family(r.family == AF_INET6 ? agent::v6 : agent::v4);
      route->set_mtu(r.mtu);
    }
    for (const netlink::NeighborInfo& n : snapshot.neighbors) {
      if (n.index != link.index || n.state != NUD_PERMANENT || !n.lladdr) continue;
      agent::ARPNeighbor* neighbor = plan.neighbors.add_arpneighbors();
      neighbor->mutable_toipaddress()->set_family(FamilyOf(n.address));
      neighbor->mutable_toipaddress()->set_address(net::FormatIpAddress(n.address));
      neighbor->set_device(link.name);
      neighbor->set_lladdr(net::FormatMacAddress(*n.lladdr));
      neighbor->set_state(n.state);
      neighbor->set_flags(n.flags);
    }
    plan.endpoints.push_back(std::move(e));
  }
  return plan;
}

}  // namespace kata::runtime
