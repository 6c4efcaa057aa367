// The agent's network RPCs on a real network namespace (a veth made by `ip`, standing in for
// the VM's virtio-net NIC): what `ip` shows afterwards is what was asked; errors name the
// field and change nothing.

#include <sys/socket.h>

#include "guest-agent/network/guest_network.h"
#include "libkata/netlink/netns_thread.h"
#include "libkata/testing/netns.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace agent = kata::agent;

namespace {

constexpr char kMac[] = "02:00:00:00:66:02";

// `ns` holds the "NIC" (veth-nic, MAC kMac, down, no address) and its peer, up.
void MakeNic(const kata::testing::TestNetns& ns) {
  ns.Exec(std::string("ip link add veth-nic address ") + kMac + " type veth peer name veth-peer && ip link set veth-peer up");
}

template <typename F>
auto InNetns(const kata::testing::TestNetns& ns, F&& f) {
  decltype(f()) result = absl::UnknownError("not run");
  REQUIRE(kata::netlink::RunInNetns(ns.path(), [&] {
            result = f();
            return absl::OkStatus();
          }).ok());
  return result;
}

agent::Interface Nic(const std::string& name) {
  agent::Interface i;
  i.set_device("veth-nic-host-name");
  i.set_name(name);
  i.set_hwaddr(kMac);
  i.set_mtu(1400);
  auto* a = i.add_ipaddresses();
  a->set_address("10.66.0.2");
  a->set_mask("24");
  auto* b = i.add_ipaddresses();
  b->set_family(agent::v6);
  b->set_address("fd66::2");
  b->set_mask("64");
  return i;
}

agent::Route MakeRoute(const std::string& dest, const std::string& gw, const std::string& dev, uint32_t scope = 0) {
  agent::Route r;
  r.set_dest(dest);
  r.set_gateway(gw);
  r.set_device(dev);
  r.set_scope(scope);
  return r;
}

}  // namespace

TEST_CASE("guest network: UpdateInterface finds the link by MAC and sets addresses, MTU, name, up", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  MakeNic(ns);
  // The wanted name is taken: its holder gets the old name.
  ns.Exec("ip link add eth0 type veth peer name eth0-peer");
  GuestNetwork net({});
  auto updated = InNetns(ns, [&] { return net.UpdateInterface(Nic("eth0")); });
  REQUIRE(updated.ok());
  CHECK(updated->name() == "eth0");
  CHECK(updated->hwaddr() == kMac);
  CHECK(updated->mtu() == 1400);
  CHECK(updated->ipaddresses_size() >= 2);
  const std::string link = ns.Capture("ip -o link show eth0");
  CHECK(link.find("mtu 1400") != std::string::npos);
  CHECK(link.find(kMac) != std::string::npos);
  CHECK(link.find(",UP") != std::string::npos);
  const std::string addrs = ns.Capture("ip -o addr show dev eth0");
  CHECK(addrs.find("inet 10.66.0.2/24") != std::string::npos);
  CHECK(addrs.find("inet6 fd66::2/64") != std::string::npos);
  CHECK(ns.Capture("ip -o link show veth-nic").find("eth0-peer") != std::string::npos);  // the old holder of eth0

  // ListInterfaces shows it as it is.
  auto listed = InNetns(ns, [&] { return net.ListInterfaces(); });
  REQUIRE(listed.ok());
  bool found = false;
  for (const auto& i : listed->interfaces()) {
    if (i.name() != "eth0") continue;
    found = true;
    CHECK(i.hwaddr() == kMac);
    CHECK(i.type() == "veth");
  }
  CHECK(found);
}

TEST_CASE("guest network: UpdateRoutes adds link routes before the gateway routes that need them", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  MakeNic(ns);
  GuestNetwork net({});
  REQUIRE(InNetns(ns, [&] { return net.UpdateInterface(Nic("eth0")); }).ok());
  agent::Routes routes;
  // In the order a host might send them: the gateway routes first. 10.55.0.1 is reachable
  // only through the link route listed last.
  *routes.add_routes() = MakeRoute("", "10.66.0.1", "eth0");
  *routes.add_routes() = MakeRoute("10.44.0.0/16", "10.55.0.1", "eth0");
  *routes.add_routes() = MakeRoute("10.55.0.0/24", "", "eth0", 253);
  auto r = InNetns(ns, [&] { return net.UpdateRoutes(routes); });
  INFO(r.status());
  REQUIRE(r.ok());
  const std::string table = ns.Capture("ip route show proto boot");
  INFO(table);
  CHECK(table.find("default via 10.66.0.1 dev eth0") != std::string::npos);
  CHECK(table.find("10.44.0.0/16 via 10.55.0.1 dev eth0") != std::string::npos);
  CHECK(table.find("10.55.0.0/24 dev eth0 scope link") != std::string::npos);
  int defaults = 0;
  for (const auto& route : r->routes()) defaults += route.dest().empty() && route.gateway() == "10.66.0.1";
  CHECK(defaults == 1);
  // Sent again (a retried call): replaced, not an error.
  CHECK(InNetns(ns, [&] { return net.UpdateRoutes(routes); }).ok());

  agent::ARPNeighbors neighbors;
  auto* n = neighbors.add_arpneighbors();
  n->mutable_toipaddress()->set_address("10.66.0.9");
  n->set_device("eth0");
  n->set_lladdr("02:00:00:00:66:09");
  REQUIRE(InNetns(ns, [&] { return net.AddNeighbors(neighbors); }).ok());
  CHECK(ns.Capture("ip neigh show 10.66.0.9").find("lladdr 02:00:00:00:66:09 PERMANENT") != std::string::npos);
}

TEST_CASE("guest network: a MAC, a route device or a neighbour device the guest lacks is refused, changing nothing", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  MakeNic(ns);
  GuestNetwork net({});
  const std::string before = ns.Capture("ip -o link; ip -o addr; ip route");
  agent::Interface other = Nic("eth0");
  other.set_hwaddr("02:00:00:00:77:77");
  auto s = InNetns(ns, [&] { return net.UpdateInterface(other); }).status();
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(s.message()).find("interface.hwAddr 02:00:00:00:77:77") != std::string::npos);
  agent::Interface hostile = Nic("eth0");
  hostile.mutable_ipaddresses(0)->set_mask("40");
  s = InNetns(ns, [&] { return net.UpdateInterface(hostile); }).status();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  agent::Routes routes;
  *routes.add_routes() = MakeRoute("10.9.0.0/16", "", "nosuch0");
  auto r = InNetns(ns, [&] { return net.UpdateRoutes(routes); });
  CHECK(r.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(r.status().message()).find("routes[0].device nosuch0") != std::string::npos);
  agent::ARPNeighbors neighbors;
  auto* n = neighbors.add_arpneighbors();
  n->mutable_toipaddress()->set_address("10.66.0.9");
  n->set_device("nosuch0");
  s = InNetns(ns, [&] { return net.AddNeighbors(neighbors); });
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(ns.Capture("ip -o link; ip -o addr; ip route") == before);
  // A devicePath with no uevents to watch is refused, not waited on forever.
  agent::Interface hotplugged = Nic("eth0");
  hotplugged.set_devicepath("02/00");
  CHECK(InNetns(ns, [&] { return net.UpdateInterface(hotplugged); }).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("guest network: a step failing half way undoes the steps before it", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  MakeNic(ns);
  // The NIC is up with IPv6 off on it alone: the IPv4 address goes on, the IPv6 one is refused.
  ns.Exec("ip link set veth-nic up && sysctl -qw net.ipv6.conf.veth-nic.disable_ipv6=1");
  GuestNetwork net({});
  const std::string before = ns.Capture("ip -o link show veth-nic | sed 's/state [A-Z]*//'; ip -o addr; ip route");
  auto s = InNetns(ns, [&] { return net.UpdateInterface(Nic("eth0")); }).status();
  INFO(s);
  CHECK_FALSE(s.ok());
  CHECK(std::string(s.message()).find("add address fd66::2/64 to link veth-nic") != std::string::npos);
  CHECK(ns.Capture("ip -o link show veth-nic | sed 's/state [A-Z]*//'; ip -o addr; ip route") == before);
  CHECK(ns.Capture("ip -o link show veth-nic").find(",UP") != std::string::npos);

  // Routes: the first one goes in, the second's gateway is unreachable: the first comes out.
  ns.Exec("sysctl -qw net.ipv6.conf.veth-nic.disable_ipv6=0 && ip addr add 10.66.0.2/24 dev veth-nic");
  const std::string table = ns.Capture("ip route show");
  agent::Routes routes;
  *routes.add_routes() = MakeRoute("10.55.0.0/24", "", "veth-nic", 253);
  *routes.add_routes() = MakeRoute("10.44.0.0/16", "10.33.0.1", "veth-nic");
  auto r = InNetns(ns, [&] { return net.UpdateRoutes(routes); });
  INFO(r.status());
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.status().message()).find("routes[1]") != std::string::npos);
  CHECK(ns.Capture("ip route show") == table);
}
