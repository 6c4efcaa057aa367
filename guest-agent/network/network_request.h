#pragma once

// The network RPCs' requests checked and parsed (pure): every field the agent acts on is
// validated before any link is touched, and an error names the field ("interface.hwAddr",
// "routes[2].dest"). UpdateRoutes' order is decided here too: routes without a gateway (the
// link's own subnets) before the routes through a gateway, which need them to resolve.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/net/ip_address.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct InterfaceRequest {
  net::MacAddress mac;          // the guest link is found by it
  std::string name;             // renamed to this
  uint32_t mtu = 0;             // 0: left as it is
  std::vector<net::IpPrefix> addresses;
  bool noarp = false;           // raw_flags & IFF_NOARP
  std::string pci_path;         // devicePath: wait for the NIC there first (hot-plugged)
};

struct RouteRequest {
  net::IpPrefix dest;           // length 0: the default route
  std::optional<net::IpAddress> gateway;
  std::string device;
  std::optional<net::IpAddress> source;
  uint32_t scope = 0;
  uint32_t flags = 0;
  uint32_t mtu = 0;
  size_t index = 0;             // where it was in the request, for errors
};

struct NeighborRequest {
  net::IpAddress address;
  std::string device;
  std::optional<net::MacAddress> lladdr;
  int state = 0;                // 0: NUD_PERMANENT
  int flags = 0;
};

absl::StatusOr<InterfaceRequest> ParseInterfaceRequest(const agent::Interface& interface);
// In the order they must be added: gateway-less routes first, each group in request order.
absl::StatusOr<std::vector<RouteRequest>> ParseRoutesRequest(const agent::Routes& routes);
absl::StatusOr<std::vector<NeighborRequest>> ParseNeighborsRequest(const agent::ARPNeighbors& neighbors);

}  // namespace kata::guest
