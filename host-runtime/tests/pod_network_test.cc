// The pod's network given to a VM, on a real CNI network (Debian's bridge + host-local plugins
// in netns the test makes): taps made beside the pod's veth, tc redirects both ways, the
// agent requests read from what CNI configured; Detach leaves the namespace as CNI made it;
// a failure half way leaves nothing.

#include "host-runtime/network/network_probe.h"
#include "host-runtime/network/pod_network.h"
#include "host-runtime/tests/cni_network.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::runtime::PodNetwork;
using kata::runtime::testing::CniNetwork;

TEST_CASE("pod network: the veth CNI made gets a tap redirected both ways; detach leaves the netns as CNI made it",
          "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  CniNetwork cni(tmp, 1400);
  const std::string before = cni.Plumbing();
  auto net = PodNetwork::Attach(cni.netns_path());
  INFO(net.status());
  REQUIRE(net.ok());
  const auto& plan = (*net)->plan();
  REQUIRE(plan.endpoints.size() == 1);
  const auto& i = plan.endpoints[0].interface;
  CHECK(i.name() == "eth0");
  CHECK(i.hwaddr() == cni.mac());
  CHECK(i.mtu() == 1400);
  REQUIRE(i.ipaddresses_size() == 2);
  CHECK(i.ipaddresses(0).address() == cni.ipv4());
  CHECK(i.ipaddresses(1).address() == cni.ipv6());
  bool default4 = false, default6 = false;
  for (const auto& r : plan.routes.routes()) {
    default4 = default4 || (r.dest().empty() && r.gateway() == cni.gateway4());
    default6 = default6 || (r.dest().empty() && r.gateway() == cni.gateway6());
  }
  CHECK(default4);
  CHECK(default6);

  const std::string tap = cni.pod().Capture("ip -o link show tap0_kata");
  CHECK(tap.find("mtu 1400") != std::string::npos);
  CHECK(tap.find("UP") != std::string::npos);
  const std::string veth_filter = cni.pod().Capture("tc filter show dev eth0 ingress");
  INFO(veth_filter);
  CHECK(veth_filter.find("mirred (Egress Redirect to device tap0_kata) stolen") != std::string::npos);
  CHECK(cni.pod().Capture("tc filter show dev tap0_kata ingress").find("Egress Redirect to device eth0") != std::string::npos);
  const auto nics = (*net)->nics();
  REQUIRE(nics.size() == 1);
  CHECK(nics[0].mac == cni.mac());
  CHECK(nics[0].tap_fd >= 3);
  CHECK(nics[0].vhost_fd == (::access("/dev/vhost-net", F_OK) == 0 ? nics[0].vhost_fd : -1));

  REQUIRE((*net)->Detach().ok());
  CHECK(cni.Plumbing() == before);
  CHECK((*net)->Detach().ok());  // idempotent
}

TEST_CASE("pod network: a failure half way (vhost-net cannot open) leaves no tap and no filter", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  CniNetwork cni(tmp);
  const std::string before = cni.Plumbing();
  // A directory stands in for /dev/vhost-net: it exists, it cannot be opened read-write.
  auto net = PodNetwork::Attach(cni.netns_path(), tmp.path());
  INFO(net.status());
  REQUIRE_FALSE(net.ok());
  CHECK(std::string(net.status().message()).find("network endpoint eth0") != std::string::npos);
  CHECK(cni.Plumbing() == before);
}

TEST_CASE("pod network: the spec's network namespace path and resolv.conf; a bad or missing path is refused", "[network]") {
  kata::testing::TempDir tmp;
  kata::testing::WriteFile(tmp.Sub("resolv.conf"), "nameserver 10.77.0.1\n\nsearch pod.local\n");
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "mounts": [{"destination": "/etc/resolv.conf", "type": "bind", "source": ")" + tmp.Sub("resolv.conf") +
                                           R"(", "options": ["rbind", "ro"]}],
    "linux": {"namespaces": [{"type": "network", "path": "/var/run/netns/cni-1234"}, {"type": "mount"}]}})",
                                       "spec");
  REQUIRE(spec.ok());
  auto net = kata::runtime::SandboxNetworkFromSpec(*spec);
  REQUIRE(net.ok());
  CHECK(net->netns_path == "/var/run/netns/cni-1234");
  CHECK(net->dns == std::vector<std::string>{"nameserver 10.77.0.1", "search pod.local"});
  // A network namespace of its own (no path) or none: no NIC.
  spec->mutable_linux()->mutable_namespaces(0)->clear_path();
  CHECK(kata::runtime::SandboxNetworkFromSpec(*spec)->netns_path.empty());
  spec->mutable_linux()->mutable_namespaces(0)->set_path("relative/netns");
  CHECK(kata::runtime::SandboxNetworkFromSpec(*spec).status().code() == absl::StatusCode::kInvalidArgument);
  KATA_REQUIRE_ROOT();
  auto missing = PodNetwork::Attach("/run/netns/kata-no-such-netns");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("/run/netns/kata-no-such-netns") != std::string::npos);
}

TEST_CASE("pod network: the host probe (kata-runtime check) finds tun and tc mirred here and leaves nothing", "[network]") {
  KATA_REQUIRE_ROOT();
  const std::string before = kata::testing::Capture("ip -o link | awk -F': ' '{print $2}'");
  const auto support = kata::runtime::ProbeHostNetworking("/nonexistent/vhost-net");
  INFO(support.tap << " / " << support.tc_mirred);
  CHECK(support.tap.ok());
  CHECK(support.tc_mirred.ok());
  CHECK_FALSE(support.vhost_net);
  CHECK(kata::testing::Capture("ip -o link | awk -F': ' '{print $2}'") == before);
}

TEST_CASE("pod network: after a crash (no Detach), cleanup removes the taps and the redirects left in the netns",
          "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  CniNetwork cni(tmp);
  const std::string before = cni.Plumbing(false);
  // What a runtime killed after Attach leaves: a persistent tap (as another runtime might make
  // it) and the redirects both ways. (The veth's txqueuelen, which the qdisc set from 0 to
  // 1000, cannot be known after a crash: not compared.)
  cni.pod().Exec("ip tuntap add tap0_kata mode tap && ip link set tap0_kata up && "
                 "tc qdisc add dev eth0 ingress && tc filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 "
                 "action mirred egress redirect dev tap0_kata && tc qdisc add dev tap0_kata ingress");
  REQUIRE(kata::runtime::CleanupPodNetwork(cni.netns_path()).ok());
  CHECK(cni.Plumbing(false) == before);
  CHECK(kata::runtime::CleanupPodNetwork(cni.netns_path()).ok());       // nothing left: still fine
  CHECK(kata::runtime::CleanupPodNetwork("/run/netns/kata-no-such").ok());  // the namespace went with the pod
}

TEST_CASE("pod network: a link with an ingress qdisc of another's is refused naming it; that qdisc stays", "[network][netns]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  CniNetwork cni(tmp);
  cni.pod().Exec("tc qdisc add dev eth0 ingress");
  const std::string before = cni.Plumbing();
  auto net = PodNetwork::Attach(cni.netns_path());
  INFO(net.status());
  REQUIRE_FALSE(net.ok());
  CHECK(std::string(net.status().message()).find("ingress qdisc on eth0") != std::string::npos);
  CHECK(cni.Plumbing() == before);
}
