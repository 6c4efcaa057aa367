#pragma once

// A pod network made the way containerd's CRI makes one: Debian's CNI plugins (bridge with
// host-local IPAM, IPv4 and IPv6) run by the test, putting a veth into a fresh pod netns. The
// bridge lives in a second netns standing in for the host's, so the machine's own network is
// never touched; the test's "host side" clients and servers run there.

#include <regex>
#include <string>

#include "libkata/testing/netns.h"
#include "libkata/testing/test_support.h"
#include "nlohmann/json.hpp"

namespace kata::runtime::testing {

class CniNetwork {
 public:
  // `mtu` 0: the plugin's default (1500).
  explicit CniNetwork(const kata::testing::TempDir& tmp, int mtu = 0, const std::string& name = "pod")
      : conf_(tmp.Sub(name + "-cni.json")) {
    std::string conf = R"({"cniVersion": "1.0.0", "name": "kata-test", "type": "bridge", "bridge": "kbr0",
      "isGateway": true, "ipMasq": false, )";
    if (mtu > 0) conf += "\"mtu\": " + std::to_string(mtu) + ", ";
    conf += R"("ipam": {"type": "host-local", "dataDir": ")" + tmp.Sub(name + "-ipam") + R"(",
      "ranges": [[{"subnet": "10.77.0.0/24"}], [{"subnet": "fd77::/64"}]],
      "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}})";
    kata::testing::WriteFile(conf_, conf);
    // IPv6 addresses usable at once, as CNI's bridge would have them after DAD.
    host_.Exec("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip link set lo up");
    pod_.Exec("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    // CRI runs the loopback plugin too: the pod's lo is up.
    kata::testing::WriteFile(conf_ + ".lo", R"({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"})");
    host_.Exec("CNI_COMMAND=ADD CNI_CONTAINERID=kata-test CNI_NETNS=" + pod_.path() +
               " CNI_IFNAME=lo CNI_PATH=/usr/lib/cni /usr/lib/cni/loopback < " + conf_ + ".lo >/dev/null");
    const std::string out = host_.Capture(Plugin("ADD"));
    INFO(out);
    auto result = nlohmann::json::parse(out, nullptr, false);
    REQUIRE(result.is_object());
    REQUIRE(result.contains("ips"));
    for (const auto& ip : result["ips"]) {
      const std::string address = ip["address"];
      const std::string gateway = ip.value("gateway", "");
      (address.find(':') == std::string::npos ? ipv4_ : ipv6_) = address.substr(0, address.find('/'));
      (address.find(':') == std::string::npos ? gateway4_ : gateway6_) = gateway;
    }
    REQUIRE(!ipv4_.empty());
    REQUIRE(!ipv6_.empty());
    mac_ = pod_.Capture("cat /sys/class/net/eth0/address");
    while (!mac_.empty() && mac_.back() == '\n') mac_.pop_back();
  }
  ~CniNetwork() { (void)host_.Try(Plugin("DEL") + " >/dev/null 2>&1"); }

  const kata::testing::TestNetns& host() const { return host_; }  // the bridge's side
  const kata::testing::TestNetns& pod() const { return pod_; }
  std::string netns_path() const { return pod_.path(); }
  const std::string& ipv4() const { return ipv4_; }
  const std::string& ipv6() const { return ipv6_; }
  const std::string& gateway4() const { return gateway4_; }
  const std::string& gateway6() const { return gateway6_; }
  const std::string& mac() const { return mac_; }

  // What of the pod's namespace the runtime may touch (links, qdiscs, eth0's ingress filters),
  // to compare before and after. Without `queue_lengths`, the links' txqueuelen is left out:
  // attaching a qdisc raises a zero one, which a crashed runtime cannot set back.
  std::string Plumbing(bool queue_lengths = true) const {
    const std::string state = pod_.Capture("ip -o link; tc qdisc show; tc filter show dev eth0 ingress");
    return queue_lengths ? state : std::regex_replace(state, std::regex(" *(qlen [0-9]+)? *\\\\"), "\\");
  }

 private:
  std::string Plugin(const std::string& command) const {
    return "CNI_COMMAND=" + command + " CNI_CONTAINERID=kata-test CNI_NETNS=" + pod_.path() +
           " CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge < " + conf_;
  }

  kata::testing::TestNetns host_;
  kata::testing::TestNetns pod_;
  std::string conf_;
  std::string ipv4_, ipv6_, gateway4_, gateway6_, mac_;
};

}  // namespace kata::runtime::testing
