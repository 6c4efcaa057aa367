// The pod's CNI network in a real guest (TCG here), through the Sandbox (the shim's and
// kata-runtime's path): a server in one container answers a client on the host side of the
// bridge and, over localhost, a second container of the sandbox; that container reaches a
// server on the bridge over IPv4 and the bridge over IPv6; the DNS lines reach the guest. Destroy leaves the
// pod's namespace as CNI made it. A namespace the VM cannot use is refused before QEMU starts.

#include <signal.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/tests/cni_network.h"
#include "host-runtime/tests/sandbox_run.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::runtime::RootfsMount;
using kata::runtime::Sandbox;
using kata::runtime::SandboxNetworkSpec;
using kata::runtime::testing::CniNetwork;
using kata::runtime::testing::RunToEnd;
using kata::runtime::testing::Sh;
using kata::runtime::testing::VmConfig;

namespace {

kata::oci::Spec Spec(const std::string& netns, const std::string& script) {
  auto spec = kata::oci::ParseSpecJson(R"({
    "ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"cwd": "/", "env": ["PATH=/bin"], "args": ["sh", "-c"],
                "capabilities": {"bounding": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
                                 "effective": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
                                 "permitted": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]}},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
               {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                             {"type": "network", "path": ")" + netns + R"("}]}
  })", "network e2e spec");
  REQUIRE(spec.ok());
  spec->mutable_process()->add_args(script);
  return *spec;
}

}  // namespace

TEST_CASE("network e2e: the CNI network in the VM: served to the host and to a second container, reaching the bridge "
          "over IPv4 and IPv6; DNS; nothing left in the netns",
          "[network][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::MakeBusyboxRootfs(tmp.Sub("tree"));
  Sh("mkfs.ext4 -q -F -d " + tmp.Sub("tree") + " " + tmp.Sub("root.img") + " 32M");
  Sh("mkfs.ext4 -q -F -d " + tmp.Sub("tree") + " " + tmp.Sub("root2.img") + " 32M");
  CniNetwork cni(tmp, 1400);
  kata::testing::MakeDirs(tmp.Sub("www"));
  kata::testing::WriteFile(tmp.Sub("www/index.html"), "from-bridge\n");
  kata::testing::Daemon web({"/usr/sbin/ip", "netns", "exec", cni.host().name(), "busybox", "httpd", "-f", "-p", "8081", "-h",
                             tmp.Sub("www")},
                            tmp.Sub("httpd.log"));
  const std::string before = cni.Plumbing();

  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  SandboxNetworkSpec network{cni.netns_path(), {"nameserver " + cni.gateway4(), "search pod.test"}};
  auto sb = Sandbox::Create("net", config, std::nullopt, network);
  INFO(sb.status());
  REQUIRE(sb.ok());
  const pid_t qemu = (*sb)->vm().qemu_pid();

  // The sandbox's container serves.
  REQUIRE((*sb)->CreateContainer("net", Spec(cni.netns_path(), "mkdir -p /tmp/www && echo from-container > /tmp/www/index.html"
                                                               " && exec httpd -f -p 8080 -h /tmp/www"),
                                 {{"ext4", tmp.Sub("root.img"), "", {"rw"}}})
              .ok());
  REQUIRE((*sb)->StartContainer("net").ok());
  // A client on the bridge's side (the host's, as Kubernetes' node reaches a pod IP).
  std::string answer;
  for (int i = 0; i < 60 && answer.empty(); ++i) {
    answer = cni.host().Capture("wget -q -T 2 -O - http://" + cni.ipv4() + ":8080/ 2>/dev/null");
    if (answer.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(answer == "from-container\n");

  // A second container of the sandbox: the same network (localhost reaches the first), the
  // bridge over both families, the MTU CNI set, the DNS the sandbox was given.
  const std::string script =
      "wget -q -O - http://127.0.0.1:8080/; wget -q -O - http://" + cni.gateway4() + ":8081/;"
      // (busybox-static's wget crashes on an IPv6 literal: its getaddrinfo; ping6 takes it.)
      "for i in 1 2 3 4 5 6 7 8 9 10; do ping6 -c 1 -W 2 " + cni.gateway6() + " >/dev/null 2>&1 && echo gateway6-answers && break;"
      " sleep 1; done;"
      "cat /sys/class/net/eth0/mtu; ip -o -6 addr show dev eth0 scope global | awk '{print $4}'; cat /etc/resolv.conf";
  // CRI binds a host file at /etc/resolv.conf: in the VM it is the sandbox's DNS.
  kata::testing::WriteFile(tmp.Sub("resolv.conf"), "nameserver 192.0.2.53\n");
  kata::oci::Spec c2 = Spec(cni.netns_path(), script);
  auto* resolv = c2.add_mounts();
  resolv->set_destination("/etc/resolv.conf");
  resolv->set_type("bind");
  resolv->set_source(tmp.Sub("resolv.conf"));
  resolv->add_options("rbind");
  resolv->add_options("ro");
  const absl::Status created = (*sb)->CreateContainer("c2", c2, {{"ext4", tmp.Sub("root2.img"), "", {"rw"}}});
  INFO(created);
  REQUIRE(created.ok());
  const auto ran = RunToEnd(**sb, "c2");
  INFO(ran.out);
  CHECK(ran.out == "from-container\nfrom-bridge\ngateway6-answers\n1400\n" + cni.ipv6() + "/64\nnameserver " + cni.gateway4() +
                       "\nsearch pod.test\n");
  CHECK(ran.status == 0);

  // The agent's view, over its own API: the NIC is named as CNI named the veth.
  kata::agent_api::AgentStub agent((*sb)->vm().agent_client());
  kata::agent::Interfaces interfaces;
  REQUIRE(agent.ListInterfaces({}, &interfaces, absl::Seconds(10)).ok());
  bool eth0 = false;
  for (const auto& i : interfaces.interfaces()) eth0 = eth0 || (i.name() == "eth0" && i.hwaddr() == cni.mac() && i.mtu() == 1400);
  CHECK(eth0);
  kata::agent::Routes routes;
  REQUIRE(agent.ListRoutes({}, &routes, absl::Seconds(10)).ok());
  bool default4 = false;
  for (const auto& r : routes.routes()) default4 = default4 || (r.dest().empty() && r.gateway() == cni.gateway4());
  CHECK(default4);

  REQUIRE((*sb)->SignalProcess("net", "", SIGKILL).ok());
  REQUIRE((*sb)->Destroy().ok());
  CHECK(::kill(qemu, 0) != 0);
  CHECK(cni.Plumbing() == before);
}

TEST_CASE("network e2e: a namespace the VM cannot use is refused before QEMU starts, naming the link; nothing left",
          "[network][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::TestNetns ns;
  ns.Exec("ip link add br-x type bridge && ip addr add 10.9.0.1/24 dev br-x && ip link set br-x up");
  const std::string before = ns.Capture("ip -o link; tc qdisc show");
  auto config = VmConfig(tmp);
  auto sb = Sandbox::Create("badnet", config, std::nullopt, SandboxNetworkSpec{ns.path(), {}});
  REQUIRE_FALSE(sb.ok());
  INFO(sb.status());
  CHECK(sb.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(sb.status().message(), "link br-x"));
  CHECK(ns.Capture("ip -o link; tc qdisc show") == before);
  CHECK(kata::testing::Capture("ls " + tmp.Sub("state") + " 2>/dev/null").empty());
  auto missing = Sandbox::Create("nonet", config, std::nullopt, SandboxNetworkSpec{"/run/netns/kata-no-such", {}});
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
}
