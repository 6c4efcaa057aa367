#pragma once

#include <string>

#include "absl/status/status.h"
#include "guest-agent/process/launcher.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

// The container init's plan from its (guest-numbered) spec: namespaces (mount, PID, UTS and
// IPC always; network, cgroup and user - with its id maps - when asked; a network namespace
// given by path means the VM's own, as in Kata), the spec's mounts with their targets resolved inside `rootfs`,
// masked and read-only paths, hostname and the process.
absl::Status BuildInitPlan(const oci::Spec& spec, const std::string& rootfs, InitPlan& plan);

}  // namespace kata::guest
