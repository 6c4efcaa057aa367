#pragma once

// What a host needs to give pods' networks to VMs, probed for real in a throwaway network
// namespace (for `kata-runtime check`): a tap from /dev/net/tun, and tc's ingress qdisc, u32
// classifier and mirred action (sch_ingress, cls_u32, act_mirred) joining two taps. Module
// files cannot tell: a kernel may have them built in, or load them on first use.

#include <string>

#include "absl/status/status.h"

namespace kata::runtime {

struct HostNetworkSupport {
  absl::Status tap;        // tun/tap
  absl::Status tc_mirred;  // ingress qdisc + u32 + mirred redirect
  bool vhost_net = false;  // /dev/vhost-net: the kernel moves NIC packets (else QEMU does)
};

HostNetworkSupport ProbeHostNetworking(const std::string& vhost_net = "/dev/vhost-net");

}  // namespace kata::runtime
