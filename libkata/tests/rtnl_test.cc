// Reading a real network namespace through libnl: links, addresses, routes and neighbours as
// `ip` made them, from a thread inside the namespace.

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "libkata/netlink/netns_thread.h"
#include "libkata/netlink/rtnl.h"
#include "libkata/testing/netns.h"
#include "libkata/testing/test_support.h"

using namespace kata;

TEST_CASE("rtnl: a veth with addresses, routes and a permanent neighbour, read inside its netns", "[netlink]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  ns.Exec("ip link add veth-a mtu 1400 address 02:00:00:00:00:0a type veth peer name veth-b && "
          "ip addr add 10.77.0.2/24 dev veth-a && ip addr add fd77::2/64 dev veth-a nodad && "
          "ip link set veth-a up && ip link set veth-b up && "
          "ip route add default via 10.77.0.1 dev veth-a && "
          "ip route add 10.99.0.0/16 via 10.77.0.1 dev veth-a mtu 1300 && "
          "ip neigh add 10.77.0.9 lladdr 02:00:00:00:00:99 dev veth-a nud permanent");
  std::vector<netlink::LinkInfo> links;
  std::vector<netlink::AddressInfo> addresses;
  std::vector<netlink::RouteInfo> routes;
  std::vector<netlink::NeighborInfo> neighbors;
  REQUIRE(netlink::RunInNetns(ns.path(), [&]() -> absl::Status {
            auto sock = netlink::RtnlSocket::Open();
            if (!sock.ok()) return sock.status();
            auto l = netlink::ListLinks(*sock);
            auto a = netlink::ListAddresses(*sock);
            auto r = netlink::ListRoutes(*sock);
            auto n = netlink::ListNeighbors(*sock);
            for (const absl::Status& s : {l.status(), a.status(), r.status(), n.status()}) {
              if (!s.ok()) return s;
            }
            links = *l, addresses = *a, routes = *r, neighbors = *n;
            return absl::OkStatus();
          }).ok());

  // Only the namespace's own links: lo and the pair.
  REQUIRE(links.size() == 3);
  auto veth = std::find_if(links.begin(), links.end(), [](const auto& l) { return l.name == "veth-a"; });
  REQUIRE(veth != links.end());
  CHECK(veth->kind == "veth");
  CHECK(veth->mtu == 1400);
  REQUIRE(veth->mac.has_value());
  CHECK(net::FormatMacAddress(*veth->mac) == "02:00:00:00:00:0a");
  CHECK((veth->flags & IFF_UP) != 0);
  auto lo = std::find_if(links.begin(), links.end(), [](const auto& l) { return l.name == "lo"; });
  REQUIRE(lo != links.end());
  CHECK((lo->flags & IFF_LOOPBACK) != 0);

  std::vector<std::string> on_veth;
  for (const auto& a : addresses) {
    if (a.index == veth->index) on_veth.push_back(net::FormatIpPrefix(a.prefix));
  }
  CHECK(std::count(on_veth.begin(), on_veth.end(), "10.77.0.2/24") == 1);
  CHECK(std::count(on_veth.begin(), on_veth.end(), "fd77::2/64") == 1);

  bool default_route = false, subnet_route = false, kernel_route = false;
  for (const auto& r : routes) {
    if (r.table != RT_TABLE_MAIN || r.index != veth->index || r.family != AF_INET) continue;
    if (r.dest.length == 0) {
      default_route = r.gateway && net::FormatIpAddress(*r.gateway) == "10.77.0.1" && r.protocol == RTPROT_BOOT;
    } else if (net::FormatIpPrefix(r.dest) == "10.99.0.0/16") {
      subnet_route = r.mtu == 1300;
    } else if (net::FormatIpPrefix(r.dest) == "10.77.0.0/24") {
      kernel_route = r.protocol == RTPROT_KERNEL && !r.gateway && r.scope == RT_SCOPE_LINK;
    }
  }
  CHECK(default_route);
  CHECK(subnet_route);
  CHECK(kernel_route);

  auto permanent = std::find_if(neighbors.begin(), neighbors.end(), [&](const auto& n) {
    return n.index == veth->index && net::FormatIpAddress(n.address) == "10.77.0.9";
  });
  REQUIRE(permanent != neighbors.end());
  CHECK(permanent->state == NUD_PERMANENT);
  REQUIRE(permanent->lladdr.has_value());
  CHECK(net::FormatMacAddress(*permanent->lladdr) == "02:00:00:00:00:99");
}

TEST_CASE("rtnl: a namespace that does not exist is an error naming its path", "[netlink]") {
  const absl::Status s = netlink::RunInNetns("/run/netns/kata-no-such-netns", [] { return absl::OkStatus(); });
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(s.message()).find("/run/netns/kata-no-such-netns") != std::string::npos);
}
