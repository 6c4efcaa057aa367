#pragma once

// Kata's "tcfilter" model, one direction at a time (call from a thread in the pod's network
// namespace): an ingress qdisc on `from` and a u32 filter matching every packet whose action
// is mirred egress redirect to `to`, i.e.
//   tc qdisc add dev FROM ingress
//   tc filter add dev FROM parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev TO
// Done both ways, tap <-> veth, the pod's link and the VM's NIC become one wire; the
// addresses stay on the pod's link, where CNI put them.

#include <string>

#include "absl/status/status.h"
#include "libkata/netlink/rtnl.h"

namespace kata::runtime {

struct TcLink {
  int index = 0;
  std::string name;
};

absl::Status AddIngressRedirect(const netlink::RtnlSocket& sock, const TcLink& from, const TcLink& to);

// Deletes `link`'s ingress qdisc, and with it its filters. OK when it has none.
absl::Status RemoveIngress(const netlink::RtnlSocket& sock, const TcLink& link);

}  // namespace kata::runtime
