#pragma once

// What the pod's network namespace gives the VM (pure), as Kata's "tcfilter" model reads it
// (../shared/reference/networking.md): each link with an address of its own (loopback and
// links without a global address skipped), in dump order, becomes one endpoint: a tap
// "tap<i>_kata" redirected to and from it, a virtio-net NIC with the link's MAC, and the agent
// requests that give the guest's NIC the link's name, MTU, addresses, routes and permanent
// neighbours. Kinds other than veth, macvlan, ipvlan and tap are refused, naming the link.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/netlink/rtnl.h"
#include "protocols/agent.pb.h"

namespace kata::runtime {

struct NetnsSnapshot {
  std::vector<netlink::LinkInfo> links;
  std::vector<netlink::AddressInfo> addresses;
  std::vector<netlink::RouteInfo> routes;
  std::vector<netlink::NeighborInfo> neighbors;
};

struct NetworkEndpoint {
  netlink::LinkInfo link;        // the pod's link (veth...)
  std::string tap_name;          // tap<i>_kata, made beside it
  agent::Interface interface;    // UpdateInterface
};

struct NetworkPlan {
  std::vector<NetworkEndpoint> endpoints;
  agent::Routes routes;             // UpdateRoutes, every endpoint's
  agent::ARPNeighbors neighbors;    // AddARPNeighbors
  std::vector<std::string> skipped; // "lo (loopback)", "dummy0 (no address)": for the log
};

absl::StatusOr<NetworkPlan> PlanNetwork(const NetnsSnapshot& snapshot);

// The taps this runtime makes are named so; a link so named in the pod's namespace is ours
// (left from a crash), never an endpoint.
bool IsOurTapName(const std::string& name);

}  // namespace kata::runtime
