// The network RPCs' requests checked before any link is touched (pure): hostile requests as
// a table, each refused naming its field; route order; what ListInterfaces/ListRoutes say.

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <functional>

#include "guest-agent/network/network_report.h"
#include "guest-agent/network/network_request.h"
#include "guest-agent/network/sandbox_dns.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace agent = kata::agent;

namespace {

agent::Interface GoodInterface() {
  agent::Interface i;
  i.set_device("eth0");
  i.set_name("eth0");
  i.set_hwaddr("02:42:0a:58:00:02");
  i.set_mtu(1450);
  auto* a = i.add_ipaddresses();
  a->set_family(agent::v4);
  a->set_address("10.88.0.2");
  a->set_mask("16");
  auto* b = i.add_ipaddresses();
  b->set_family(agent::v6);
  b->set_address("fd00:88::2");
  b->set_mask("64");
  return i;
}

agent::Route MakeRoute(const std::string& dest, const std::string& gw, const std::string& dev = "eth0") {
  agent::Route r;
  r.set_dest(dest);
  r.set_gateway(gw);
  r.set_device(dev);
  const bool v6 = dest.empty() ? gw.find(':') != std::string::npos : dest.find(':') != std::string::npos;
  if (v6) r.set_family(agent::v6);
  return r;
}

}  // namespace

TEST_CASE("network request: a CNI-made interface parses", "[network]") {
  auto req = ParseInterfaceRequest(GoodInterface());
  REQUIRE(req.ok());
  CHECK(kata::net::FormatMacAddress(req->mac) == "02:42:0a:58:00:02");
  CHECK(req->name == "eth0");
  CHECK(req->mtu == 1450);
  REQUIRE(req->addresses.size() == 2);
  CHECK(kata::net::FormatIpPrefix(req->addresses[0]) == "10.88.0.2/16");
  CHECK(kata::net::FormatIpPrefix(req->addresses[1]) == "fd00:88::2/64");
  CHECK_FALSE(req->noarp);
  agent::Interface noarp = GoodInterface();
  noarp.set_raw_flags(IFF_NOARP);
  noarp.clear_name();  // the device name stands in
  CHECK(ParseInterfaceRequest(noarp)->noarp);
  CHECK(ParseInterfaceRequest(noarp)->name == "eth0");
}

TEST_CASE("network request: hostile interfaces are refused naming the field", "[network]") {
  struct Case {
    const char* field;
    std::function<void(agent::Interface&)> mutate;
  };
  const std::vector<Case> cases = {
      {"interface.hwAddr", [](agent::Interface& i) { i.set_hwaddr(""); }},
      {"interface.hwAddr", [](agent::Interface& i) { i.set_hwaddr("02:42:0a:58:00"); }},
      {"interface.hwAddr", [](agent::Interface& i) { i.set_hwaddr("00:00:00:00:00:00"); }},
      {"interface.name", [](agent::Interface& i) { i.set_name("../../etc"); }},
      {"interface.name", [](agent::Interface& i) { i.set_name("a-name-far-too-long"); }},
      {"interface.device", [](agent::Interface& i) { i.clear_name(); i.clear_device(); }},
      {"interface.mtu", [](agent::Interface& i) { i.set_mtu(67); }},
      {"interface.mtu", [](agent::Interface& i) { i.set_mtu(1ull << 32); }},
      {"interface.IPAddresses[0].address", [](agent::Interface& i) { i.mutable_ipaddresses(0)->set_address("10.88.0.256"); }},
      {"interface.IPAddresses[0].mask", [](agent::Interface& i) { i.mutable_ipaddresses(0)->set_mask("33"); }},
      {"interface.IPAddresses[0].mask", [](agent::Interface& i) { i.mutable_ipaddresses(0)->set_mask("16/"); }},
      {"interface.IPAddresses[1].mask", [](agent::Interface& i) { i.mutable_ipaddresses(1)->set_mask("129"); }},
      {"interface.IPAddresses[1]", [](agent::Interface& i) { i.mutable_ipaddresses(1)->set_family(agent::v4); }},
      {"interface.devicePath", [](agent::Interface& i) { i.set_devicepath("02/zz"); }},
      {"interface.devicePath", [](agent::Interface& i) { i.set_devicepath("../../sys"); }},
  };
  for (const auto& c : cases) {
    agent::Interface i = GoodInterface();
    c.mutate(i);
    const absl::Status s = ParseInterfaceRequest(i).status();
    INFO(c.field << ": " << s);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(c.field) != std::string::npos);
  }
}

TEST_CASE("network request: routes without a gateway come first, in request order", "[network]") {
  agent::Routes routes;
  *routes.add_routes() = MakeRoute("", "10.88.0.1");
  *routes.add_routes() = MakeRoute("10.88.0.0/16", "");
  *routes.add_routes() = MakeRoute("10.99.0.0/16", "10.88.0.1");
  *routes.add_routes() = MakeRoute("fd00:88::/64", "");
  *routes.add_routes() = MakeRoute("", "fd00:88::1");
  auto parsed = ParseRoutesRequest(routes);
  REQUIRE(parsed.ok());
  std::vector<size_t> order;
  for (const auto& r : *parsed) order.push_back(r.index);
  CHECK(order == std::vector<size_t>{1, 3, 0, 2, 4});
  CHECK((*parsed)[2].dest.length == 0);
  CHECK((*parsed)[2].dest.address.family == AF_INET);
  CHECK((*parsed)[4].dest.address.family == AF_INET6);
  CHECK(kata::net::FormatIpAddress(*(*parsed)[4].gateway) == "fd00:88::1");
}

TEST_CASE("network request: hostile routes and neighbours are refused naming the field", "[network]") {
  struct Case {
    const char* field;
    agent::Route route;
  };
  agent::Route big_scope = MakeRoute("10.0.0.0/8", "");
  big_scope.set_scope(256);
  agent::Route big_mtu = MakeRoute("10.0.0.0/8", "");
  big_mtu.set_mtu(70000);
  agent::Route bad_src = MakeRoute("10.0.0.0/8", "");
  bad_src.set_source("fd00::1");
  const std::vector<Case> cases = {
      {"routes[1].dest", MakeRoute("10.0.0.0/33", "")},
      {"routes[1].dest", MakeRoute("10.0.0/8", "")},
      {"routes[1].gateway", MakeRoute("", "10.0.0.x")},
      {"routes[1].gateway", MakeRoute("10.0.0.0/8", "fd00::1")},
      {"routes[1].device", MakeRoute("10.0.0.0/8", "", "")},
      {"routes[1].device", MakeRoute("10.0.0.0/8", "", "bad/name")},
      {"routes[1].scope", big_scope},
      {"routes[1].mtu", big_mtu},
      {"routes[1].source", bad_src},
  };
  for (const auto& c : cases) {
    agent::Routes routes;
    *routes.add_routes() = MakeRoute("10.88.0.0/16", "");
    *routes.add_routes() = c.route;
    const absl::Status s = ParseRoutesRequest(routes).status();
    INFO(c.field << ": " << s);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(c.field) != std::string::npos);
  }

  agent::ARPNeighbors good;
  auto* n = good.add_arpneighbors();
  n->mutable_toipaddress()->set_address("10.88.0.9");
  n->set_device("eth0");
  n->set_lladdr("02:00:00:00:00:09");
  auto parsed = ParseNeighborsRequest(good);
  REQUIRE(parsed.ok());
  CHECK((*parsed)[0].state == NUD_PERMANENT);  // 0 reads as permanent (Kata)
  struct NeighborCase {
    const char* field;
    std::function<void(agent::ARPNeighbor&)> mutate;
  };
  for (const auto& c : std::vector<NeighborCase>{
           {"neighbors[0].toIPAddress", [](agent::ARPNeighbor& x) { x.clear_toipaddress(); }},
           {"neighbors[0].toIPAddress.address", [](agent::ARPNeighbor& x) { x.mutable_toipaddress()->set_address("nope"); }},
           {"neighbors[0].device", [](agent::ARPNeighbor& x) { x.set_device(""); }},
           {"neighbors[0].lladdr", [](agent::ARPNeighbor& x) { x.set_lladdr("02:00"); }},
           {"neighbors[0].state", [](agent::ARPNeighbor& x) { x.set_state(0x81); }},
           {"neighbors[0].state", [](agent::ARPNeighbor& x) { x.set_state(-1); }},
           {"neighbors[0].flags", [](agent::ARPNeighbor& x) { x.set_flags(0x100); }},
       }) {
    agent::ARPNeighbors bad = good;
    c.mutate(*bad.mutable_arpneighbors(0));
    const absl::Status s = ParseNeighborsRequest(bad).status();
    INFO(c.field << ": " << s);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(c.field) != std::string::npos);
  }
}

TEST_CASE("network report: links with their addresses; main-table unicast routes by link name", "[network]") {
  kata::netlink::LinkInfo eth{2, "eth0", "", kata::net::MacAddress{2, 0x42, 10, 88, 0, 2}, 1450, IFF_UP | IFF_NOARP};
  kata::netlink::AddressInfo a{2, {*kata::net::ParseIpAddress("10.88.0.2", "a"), 16}, 0, 0};
  kata::netlink::AddressInfo other{3, {*kata::net::ParseIpAddress("10.1.0.2", "a"), 24}, 0, 0};
  const agent::Interface described = DescribeLink(eth, {a, other});
  CHECK(described.name() == "eth0");
  CHECK(described.hwaddr() == "02:42:0a:58:00:02");
  CHECK(described.mtu() == 1450);
  CHECK(described.raw_flags() == IFF_NOARP);
  REQUIRE(described.ipaddresses_size() == 1);
  CHECK(described.ipaddresses(0).address() == "10.88.0.2");
  CHECK(described.ipaddresses(0).mask() == "16");

  kata::netlink::RouteInfo def;
  def.family = AF_INET;
  def.dest.address.family = AF_INET;
  def.gateway = *kata::net::ParseIpAddress("10.88.0.1", "g");
  def.index = 2;
  def.table = RT_TABLE_MAIN;
  def.type = RTN_UNICAST;
  kata::netlink::RouteInfo local = def;
  local.table = RT_TABLE_LOCAL;
  kata::netlink::RouteInfo elsewhere = def;
  elsewhere.index = 9;
  const agent::Routes routes = DescribeRoutes({def, local, elsewhere}, {eth});
  REQUIRE(routes.routes_size() == 1);
  CHECK(routes.routes(0).dest().empty());
  CHECK(routes.routes(0).gateway() == "10.88.0.1");
  CHECK(routes.routes(0).device() == "eth0");
}

TEST_CASE("sandbox dns: trimmed lines; line breaks, NULs, long lines and too many lines refused", "[network]") {
  google::protobuf::RepeatedPtrField<std::string> dns;
  *dns.Add() = "nameserver 10.88.0.1 ";
  *dns.Add() = "search pod.local";
  CHECK(ResolvConfFromDns(dns).value() == "nameserver 10.88.0.1\nsearch pod.local\n");
  for (const std::string& bad : {std::string("nameserver 1.1.1.1\nnameserver 6.6.6.6"), std::string("a\0b", 3),
                                 std::string(1025, 'x'), std::string("x\r")}) {
    google::protobuf::RepeatedPtrField<std::string> d = dns;
    *d.Add() = bad;
    const absl::Status s = ResolvConfFromDns(d).status();
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find("dns[2]") != std::string::npos);
  }
  google::protobuf::RepeatedPtrField<std::string> many;
  for (int i = 0; i < 65; ++i) *many.Add() = "options ndots:1";
  CHECK_FALSE(ResolvConfFromDns(many).ok());
}
