// The Sandbox's cgroup side: each container's cgroup, its resources and its statistics.

#include "guest-agent/cgroup/resources_plan.h"
#include "guest-agent/device_cgroup/device_filter.h"
#include "guest-agent/device_cgroup/device_program.h"
#include "guest-agent/sandbox/sandbox.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("cgroup");

absl::StatusOr<CgroupPlan> PlanFor(const std::string& container_id, const oci::LinuxResources& resources) {
  auto plan = PlanCgroupWrites(resources);
  if (!plan.ok()) {
    return absl::Status(plan.status().code(), StrCat("container ", container_id, ": ", ToStd(plan.status().message())));
  }
  for (const std::string& field : plan->ignored) {
    kLog.Info("resource not applied: no cgroup v2 equivalent", {{"container_id", container_id}, {"field", field}});
  }
  return plan;
}

// linux.resources.devices (with the always-allowed devices after them) as the cgroup's
// device program.
absl::Status ApplyDeviceRules(DeviceProgramCache& programs, const std::string& container_id, const std::string& cgroup_dir,
                              const google::protobuf::RepeatedPtrField<oci::LinuxDeviceCgroup>& rules) {
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), StrCat("container ", container_id, ": ", ToStd(s.message())));
  };
  auto policy = BuildDevicePolicy(rules);
  if (!policy.ok()) return fail(policy.status());
  auto program = BuildDeviceProgram(*policy);
  if (!program.ok()) return fail(program.status());
  auto loaded = programs.Get(*program);
  if (!loaded.ok()) return fail(loaded.status());
  if (absl::Status s = AttachDeviceProgram(cgroup_dir, (*loaded)->get()); !s.ok()) return fail(s);
  kLog.Debug("device rules applied", {{"container_id", container_id}, {"rules", rules.size()},
                                      {"instructions", program->size()}});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ContainerCgroup> Sandbox::MakeCgroup(const std::string& container_id, const oci::Spec& spec) const {
  if (!options_.cgroup_root) {
    // Device rules are isolation: in the VM, a container whose rules cannot be enforced is
    // not started (fail closed). An agent in a test on the host only warns.
    if (!spec.linux().resources().devices().empty()) {
      if (options_.is_init) {
        return absl::FailedPreconditionError(StrCat("container ", container_id,
                                                    ": linux.resources.devices cannot be enforced: the agent has no cgroup root"));
      }
      kLog.Warn("device rules not enforced: the agent runs without a cgroup root", {{"container_id", container_id}});
    }
    return ContainerCgroup();
  }
  ASSIGN_OR_RETURN(CgroupPlan plan, PlanFor(container_id, spec.linux().resources()));
  // Rules that cannot be built are refused now, before the init is launched; they are
  // attached after its setup (ApplyInitDeviceRules).
  if (auto policy = BuildDevicePolicy(spec.linux().resources().devices()); !policy.ok()) {
    return absl::Status(policy.status().code(), StrCat("container ", container_id, ": ", ToStd(policy.status().message())));
  }
  ASSIGN_OR_RETURN(ContainerCgroup cgroup, options_.cgroup_root->Create(container_id));
  if (absl::Status s = cgroup.Apply(plan); !s.ok()) {
    (void)cgroup.Remove();
    return absl::Status(s.code(), StrCat("container ", container_id, ": ", ToStd(s.message())));
  }
  return cgroup;
}

absl::Status Sandbox::ApplyInitDeviceRules(const std::string& container_id, const ContainerCgroup& cgroup,
                                           const oci::Spec& spec) const {
  if (!cgroup.valid()) return absl::OkStatus();  // MakeCgroup decided: refused, or only warned
  return ApplyDeviceRules(device_programs_, container_id, cgroup.path(), spec.linux().resources().devices());
}

absl::StatusOr<std::string> Sandbox::CgroupPathOf(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateId("container id", container_id));
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second == nullptr) {
    return absl::NotFoundError(StrCat("container ", container_id, " does not exist"));
  }
  if (!it->second->cgroup.valid()) {
    return absl::FailedPreconditionError(
        StrCat("container ", container_id, " has no cgroup: the agent runs without a cgroup root"));
  }
  return it->second->cgroup.path();
}

absl::Status Sandbox::UpdateContainer(const std::string& container_id, const oci::LinuxResources& resources) {
  ASSIGN_OR_RETURN(std::string path, CgroupPathOf(container_id));
  ASSIGN_OR_RETURN(CgroupPlan plan, PlanFor(container_id, resources));
  // The device rules first: refused ones leave the files untouched. An update that carries
  // device rules replaces the container's whole list.
  if (!resources.devices().empty()) RETURN_IF_ERROR(ApplyDeviceRules(device_programs_, container_id, path, resources.devices()));
  if (absl::Status s = ContainerCgroup(path).Apply(plan); !s.ok()) {
    return absl::Status(s.code(), StrCat("container ", container_id, ": ", ToStd(s.message())));
  }
  kLog.Info("resources updated", {{"container_id", container_id}, {"files", plan.writes.size()}});
  return absl::OkStatus();
}

absl::StatusOr<agent::CgroupStats> Sandbox::StatsContainer(const std::string& container_id) {
  ASSIGN_OR_RETURN(std::string path, CgroupPathOf(container_id));
  return ContainerCgroup(path).Stats();
}

absl::Status Sandbox::PauseContainer(const std::string& container_id, bool paused) {
  ASSIGN_OR_RETURN(std::string path, CgroupPathOf(container_id));
  RETURN_IF_ERROR(ContainerCgroup(path).Freeze(paused));
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(container_id);
    if (it != containers_.end() && it->second != nullptr) it->second->paused = paused;
  }
  kLog.Info(paused ? "container paused" : "container resumed", {{"container_id", container_id}});
  return absl::OkStatus();
}

absl::Status Sandbox::ResizeTerminal(const std::string& container_id, const std::string& exec_id, uint32_t rows,
                                     uint32_t columns) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  return p->ResizeTerminal(rows, columns);
}

}  // namespace kata::guest
