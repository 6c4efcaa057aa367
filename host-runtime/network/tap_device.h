#pragma once

// The host's end of a VM NIC, made in the pod's network namespace (call from a thread in it):
// a tap device opened for QEMU (vnet headers on, no packet info), and /dev/vhost-net when the
// host has it. The tap is not persistent: it goes when the last fd on it closes (QEMU's), so
// a crashed runtime leaves none behind.

#include <string>

#include "absl/status/statusor.h"
#include "libkata/base/unique_fd.h"
#include "libkata/netlink/rtnl.h"

namespace kata::runtime {

struct TapDevice {
  std::string name;
  int index = 0;
  UniqueFd fd;  // the queue QEMU reads and writes
};

// Creates tap `name` with `mtu` and sets it up.
absl::StatusOr<TapDevice> CreateTap(const netlink::RtnlSocket& sock, const std::string& name, uint32_t mtu);

// Removes a link by index (a tap, once QEMU is gone); NotFound when it is already gone.
absl::Status DeleteLink(const netlink::RtnlSocket& sock, int index, const std::string& name);

// Sets a link's transmit queue length (attaching a qdisc resets a zero one to 1000).
absl::Status SetTxQueueLength(const netlink::RtnlSocket& sock, int index, const std::string& name, uint32_t length);

// /dev/vhost-net for one queue (the kernel moves the NIC's packets, not QEMU), or NotFound.
absl::StatusOr<UniqueFd> OpenVhostNet(const std::string& path = "/dev/vhost-net");

}  // namespace kata::runtime
