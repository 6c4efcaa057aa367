#pragma once

// The container init's plan from its (guest-numbered) spec: pure, given what the agent found
// out about the VM and the image (PlanEnvironment). Every field of the spec is used with
// runc's semantics or refused with an error naming its JSON path
// (../shared/reference/oci-runtime-parity.md; docs/oci-spec.md says which).

#include <sys/types.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "guest-agent/setup/init_plan.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

struct PlanEnvironment {
  std::string rootfs_mount;       // the mount point holding the rootfs
  // The sandbox's container (the pod's first, whose id is the sandbox id): a namespace given
  // by path is its namespace of that type. 0 when there is none, or this is that container.
  pid_t sandbox_init_pid = 0;
  bool proc_kcore = false;        // the VM has /proc/kcore (runc links /dev/core to it)
  std::string passwd;             // the image's /etc/passwd, for HOME
  // Whether a bind source (agent's view) is a directory; NotFound when it does not exist.
  std::function<absl::StatusOr<bool>(const std::string& path)> source_is_dir;
  // The VM's node of a device ("/dev/vdb"), or "" when the VM has none.
  std::function<std::string(char type, int64_t major, int64_t minor)> vm_node;
};

absl::Status BuildInitPlan(const oci::Spec& spec, const std::string& rootfs, const PlanEnvironment& env, InitPlan& plan);

// The parts, for tests.
absl::Status PlanNamespaces(const oci::Spec& spec, const PlanEnvironment& env, InitPlan& plan);
absl::StatusOr<MountStep> PlanMount(const oci::Mount& m, const PlanEnvironment& env);
absl::Status PlanDev(const oci::Spec& spec, const PlanEnvironment& env, InitPlan& plan);
absl::Status PlanSysctls(const oci::Spec& spec, InitPlan& plan);
absl::StatusOr<unsigned long> RootPropagation(const std::string& value);

// Whether linux.namespaces has an entry of `type` (new or by path): runc's test for hostname,
// domainname and namespaced sysctls.
bool HasNamespaceEntry(const oci::Spec& spec, const std::string& type);

// What a failed setup item was, for the error: "mount /sys/fs/cgroup (cgroup2)".
std::string DescribeSetupItem(const InitPlan& plan, int32_t step, int32_t index);

}  // namespace kata::guest
