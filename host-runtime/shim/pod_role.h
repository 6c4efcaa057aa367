#pragma once

// Where a container belongs, from the annotations CRI puts in its spec: a pod's sandbox (or
// a plain `ctr run` container) gets a VM of its own; a pod's other containers join the VM of
// the sandbox they name. Pure.

#include <string>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::shim {

struct PodRole {
  bool joins_sandbox = false;  // true: a container of the pod whose sandbox is `sandbox_id`
  std::string sandbox_id;
};

// containerd's io.kubernetes.cri.container-type / sandbox-id, or CRI-O's ContainerType /
// SandboxID. A container that says it joins a sandbox without naming a well-formed one is
// InvalidArgument naming the annotation.
absl::StatusOr<PodRole> PodRoleOf(const oci::Spec& spec);

}  // namespace kata::shim
