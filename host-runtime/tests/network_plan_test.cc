// What the pod's network namespace gives the VM (pure): endpoints, the agent's requests, and
// what is skipped or refused.

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "host-runtime/network/network_plan.h"
#include "libkata/testing/test_support.h"

using namespace kata;
using kata::runtime::NetnsSnapshot;
using kata::runtime::PlanNetwork;

namespace {

net::IpPrefix Prefix(const std::string& text) { return *net::ParseIpPrefix(text, "test"); }

NetnsSnapshot CniSnapshot() {
  NetnsSnapshot s;
  s.links.push_back({1, "lo", "", net::MacAddress{}, 65536, IFF_LOOPBACK | IFF_UP});
  s.links.push_back({2, "eth0", "veth", net::MacAddress{0x0a, 0x58, 10, 77, 0, 2}, 1400, IFF_UP});
  s.links.push_back({3, "spare0", "veth", net::MacAddress{2, 0, 0, 0, 0, 3}, 1500, 0});
  s.addresses.push_back({1, Prefix("127.0.0.1/8"), RT_SCOPE_HOST, 0});
  s.addresses.push_back({2, Prefix("10.77.0.2/24"), RT_SCOPE_UNIVERSE, 0});
  s.addresses.push_back({2, Prefix("fd77::2/64"), RT_SCOPE_UNIVERSE, 0});
  s.addresses.push_back({2, Prefix("fe80::858:aff:fe4d:2/64"), RT_SCOPE_LINK, 0});
  s.addresses.push_back({3, Prefix("fe80::3/64"), RT_SCOPE_LINK, 0});
  netlink::RouteInfo kernel;
  kernel.family = AF_INET;
  kernel.dest = Prefix("10.77.0.0/24");
  kernel.index = 2;
  kernel.scope = RT_SCOPE_LINK;
  kernel.protocol = RTPROT_KERNEL;
  kernel.table = RT_TABLE_MAIN;
  kernel.type = RTN_UNICAST;
  netlink::RouteInfo def = kernel;
  def.dest = Prefix("0.0.0.0/0");
  def.gateway = *net::ParseIpAddress("10.77.0.1", "g");
  def.scope = RT_SCOPE_UNIVERSE;
  def.protocol = RTPROT_BOOT;
  netlink::RouteInfo def6 = def;
  def6.family = AF_INET6;
  def6.dest = Prefix("::/0");
  def6.gateway = *net::ParseIpAddress("fd77::1", "g");
  netlink::RouteInfo local = def;
  local.table = RT_TABLE_LOCAL;
  local.type = RTN_LOCAL;
  s.routes = {kernel, def, def6, local};
  s.neighbors.push_back({2, *net::ParseIpAddress("10.77.0.9", "n"), net::MacAddress{2, 0, 0, 0, 0, 9}, NUD_PERMANENT, 0});
  s.neighbors.push_back({2, *net::ParseIpAddress("10.77.0.1", "n"), net::MacAddress{2, 0, 0, 0, 0, 1}, NUD_REACHABLE, 0});
  return s;
}

}  // namespace

TEST_CASE("network plan: a CNI veth becomes one endpoint with its addresses, routes and permanent neighbours", "[network]") {
  auto plan = PlanNetwork(CniSnapshot());
  REQUIRE(plan.ok());
  REQUIRE(plan->endpoints.size() == 1);
  const auto& e = plan->endpoints[0];
  CHECK(e.tap_name == "tap0_kata");
  CHECK(e.link.index == 2);
  const agent::Interface& i = e.interface;
  CHECK(i.name() == "eth0");
  CHECK(i.device() == "eth0");
  CHECK(i.hwaddr() == "0a:58:0a:4d:00:02");
  CHECK(i.mtu() == 1400);
  CHECK(i.type() == "veth");
  REQUIRE(i.ipaddresses_size() == 2);  // not the link-local one
  CHECK(i.ipaddresses(0).address() == "10.77.0.2");
  CHECK(i.ipaddresses(0).mask() == "24");
  CHECK(i.ipaddresses(0).family() == agent::v4);
  CHECK(i.ipaddresses(1).address() == "fd77::2");
  CHECK(i.ipaddresses(1).family() == agent::v6);
  // The kernel's own subnet route and the local table stay behind; the defaults go, as CIDR-less.
  REQUIRE(plan->routes.routes_size() == 2);
  CHECK(plan->routes.routes(0).dest().empty());
  CHECK(plan->routes.routes(0).gateway() == "10.77.0.1");
  CHECK(plan->routes.routes(0).device() == "eth0");
  CHECK(plan->routes.routes(1).gateway() == "fd77::1");
  CHECK(plan->routes.routes(1).family() == agent::v6);
  REQUIRE(plan->neighbors.arpneighbors_size() == 1);
  CHECK(plan->neighbors.arpneighbors(0).toipaddress().address() == "10.77.0.9");
  CHECK(plan->neighbors.arpneighbors(0).lladdr() == "02:00:00:00:00:09");
  CHECK(plan->skipped == std::vector<std::string>{"lo (loopback)", "spare0 (no address)"});
}

TEST_CASE("network plan: no links with addresses means no endpoint; our own taps are never endpoints", "[network]") {
  NetnsSnapshot s = CniSnapshot();
  s.links[1].name = "tap0_kata";
  s.links[1].kind = "tun";
  auto plan = PlanNetwork(s);
  REQUIRE(plan.ok());
  CHECK(plan->endpoints.empty());
  CHECK(plan->routes.routes_size() == 0);
  CHECK(PlanNetwork({}).value().endpoints.empty());
}

TEST_CASE("network plan: macvlan, ipvlan and tap links are endpoints; a bridge or a plain device is refused by name", "[network]") {
  for (const char* kind : {"macvlan", "ipvlan", "tun"}) {
    NetnsSnapshot s = CniSnapshot();
    s.links[1].kind = kind;
    INFO(kind);
    CHECK(PlanNetwork(s).value().endpoints.size() == 1);
  }
  for (const char* kind : {"bridge", "", "vxlan"}) {
    NetnsSnapshot s = CniSnapshot();
    s.links[1].kind = kind;
    const absl::Status st = PlanNetwork(s).status();
    INFO(kind << ": " << st);
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(st.message()).find("link eth0") != std::string::npos);
  }
  NetnsSnapshot no_mac = CniSnapshot();
  no_mac.links[1].mac.reset();
  CHECK(PlanNetwork(no_mac).status().code() == absl::StatusCode::kInvalidArgument);
}
