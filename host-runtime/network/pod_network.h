#pragma once

// The pod's network, given to its VM (Kata's tcfilter model; docs/networking.md): the
// network namespace the spec names is read on a thread inside it (network_plan.h), each
// endpoint gets a tap redirected to and from its link with tc, and the taps' fds go to QEMU
// as virtio-net NICs. Once the agent answers, the guest's NICs get the links' names,
// addresses, neighbours and routes (UpdateInterface, AddARPNeighbors, UpdateRoutes, in that
// order, before CreateSandbox). Detach removes the filters and taps: the namespace is left as
// CNI made it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "host-runtime/network/network_plan.h"
#include "host-runtime/network/tap_device.h"
#include "host-runtime/vm/qemu_command.h"
#include "libkata/agent_api/agent_api.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// What the sandbox's spec says of its network: linux.namespaces' "network" path (none, or a
// "network" without a path: no NIC, only the VM's loopback), and the DNS lines of the file
// bound at /etc/resolv.conf (CRI adds it), for CreateSandbox.
struct SandboxNetworkSpec {
  std::string netns_path;
  std::vector<std::string> dns;
};
absl::StatusOr<SandboxNetworkSpec> SandboxNetworkFromSpec(const oci::Spec& spec);

class PodNetwork {
 public:
  // Reads the namespace and makes one tap per endpoint (vhost-net fds too when `vhost_net`
  // names an existing device). Undoes all of it on failure.
  static absl::StatusOr<std::unique_ptr<PodNetwork>> Attach(const std::string& netns_path,
                                                            const std::string& vhost_net = "/dev/vhost-net");
  ~PodNetwork();  // Detach()

  const NetworkPlan& plan() const { return plan_; }
  // For QEMU's command line; valid until CloseFds().
  std::vector<VmNic> nics() const;
  // Once QEMU started (it holds its own copies): the taps go when QEMU goes.
  void CloseFds();
  // UpdateInterface for each endpoint, then AddARPNeighbors and UpdateRoutes.
  absl::Status ConfigureGuest(const agent_api::AgentStub& agent, absl::Duration timeout) const;
  // Removes the filters on the pod's links and the taps. Idempotent; reports the first failure
  // after trying everything.
  absl::Status Detach();

 private:
  PodNetwork(std::string netns_path, NetworkPlan plan) : netns_path_(std::move(netns_path)), plan_(std::move(plan)) {}

  const std::string netns_path_;
  const NetworkPlan plan_;
  std::vector<TapDevice> taps_;        // one per endpoint, in order
  std::vector<UniqueFd> vhost_fds_;    // empty, or one per endpoint
  std::vector<bool> link_redirected_;  // per endpoint, in order: its link's ingress qdisc is ours
  bool detached_ = false;
};

// After the runtime died without Detach (the shim's `delete`): the taps of this runtime left in
// the namespace, and the ingress qdiscs (with their redirects) of the links a plan of it
// would join. QEMU's death already took the non-persistent taps; their links' filters stay
// until this runs. A namespace that is gone is nothing to clean. (A link whose zero txqueuelen
// the qdisc raised keeps 1000: the old value died with the runtime.)
absl::Status CleanupPodNetwork(const std::string& netns_path);

}  // namespace kata::runtime
