#pragma once

// The agent's network RPCs on the VM's own network namespace (the pod's, as Kata has it):
// requests are parsed first (network_request.h), then applied with rtnetlink through
// libnl-route-3. One change at a time.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "guest-agent/uevent/uevent_store.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct GuestNetworkOptions {
  UeventStore* uevents = nullptr;  // for a hot-plugged NIC's devicePath; none: refused
  std::string sysfs_root = "/sys";
  std::string procfs_root = "/proc";
  absl::Duration hotplug_timeout = absl::Seconds(3);
};

class GuestNetwork {
 public:
  explicit GuestNetwork(GuestNetworkOptions options) : options_(std::move(options)) {}

  // The link with the interface's MAC (after its NIC appeared, when devicePath is set) is
  // set down, given the addresses (IPv6 ones skipped when the guest has IPv6 disabled), the
  // MTU, the name (a link already named so takes the old name), ARP on or off, and set up.
  // Returns the link as it is then.
  absl::StatusOr<agent::Interface> UpdateInterface(const agent::Interface& interface) ABSL_LOCKS_EXCLUDED(mu_);
  // Adds (or replaces) the routes, gateway-less ones first; returns the main table's routes.
  absl::StatusOr<agent::Routes> UpdateRoutes(const agent::Routes& routes) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AddNeighbors(const agent::ARPNeighbors& neighbors) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<agent::Interfaces> ListInterfaces() const;
  absl::StatusOr<agent::Routes> ListRoutes() const;

 private:
  absl::Status WaitForNic(const std::string& pci_path);
  bool Ipv6Disabled() const;

  const GuestNetworkOptions options_;
  absl::Mutex mu_;
};

}  // namespace kata::guest
