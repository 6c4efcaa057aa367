#include <sched.h>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("container");

}  // namespace

absl::Status BuildInitPlan(const oci::Spec& spec, const std::string& rootfs, const PlanEnvironment& env, InitPlan& plan) {
  if (!spec.has_process()) return absl::InvalidArgumentError("process: required to create a container");
  RETURN_IF_ERROR(BuildExecPlan(spec.process(), plan.exec, HomeFromPasswd(env.passwd, spec.process().user().uid())));
  RETURN_IF_ERROR(PlanNamespaces(spec, env, plan));
  plan.rootfs = rootfs;
  plan.rootfs_mount = env.rootfs_mount;
  ASSIGN_OR_RETURN(plan.root_propagation, RootPropagation(spec.linux().rootfs_propagation()));
  plan.root_readonly = spec.root().readonly();
  if (!spec.hostname().empty() || !spec.domainname().empty()) {
    if (!HasNamespaceEntry(spec, "uts")) return absl::InvalidArgumentError("hostname: setting it needs a uts namespace");
    if (spec.hostname().size() > 64) return absl::InvalidArgumentError("hostname: longer than 64 characters");
    if (spec.domainname().size() > 64) return absl::InvalidArgumentError("domainname: longer than 64 characters");
  }
  plan.set_hostname = !spec.hostname().empty();
  plan.hostname = spec.hostname();
  plan.set_domainname = !spec.domainname().empty();
  plan.domainname = spec.domainname();
  plan.mounts.clear();
  for (int i = 0; i < spec.mounts_size(); ++i) {
    const oci::Mount& m = spec.mounts(i);
    auto step = PlanMount(m, env);
    if (!step.ok()) {
      return absl::Status(step.status().code(), StrCat("mounts[", i, "] (", m.destination(), "): ", ToStd(step.status().message())));
    }
    plan.mounts.push_back(std::move(*step));
  }
  RETURN_IF_ERROR(PlanDev(spec, env, plan));
  plan.cwd_relative = plan.exec.cwd == "/" ? "" : plan.exec.cwd.substr(1);
  RETURN_IF_ERROR(PlanSysctls(spec, plan));
  plan.readonly_paths.assign(spec.linux().readonly_paths().begin(), spec.linux().readonly_paths().end());
  plan.masked_paths.assign(spec.linux().masked_paths().begin(), spec.linux().masked_paths().end());
  // What Kata's agent does not apply in the guest either; said once per container.
  if (!spec.process().apparmor_profile().empty() || !spec.process().selinux_label().empty() ||
      !spec.linux().mount_label().empty()) {
    kLog.Warn("AppArmor/SELinux labels are not applied in the VM", {{"apparmorProfile", spec.process().apparmor_profile()},
                                                                     {"selinuxLabel", spec.process().selinux_label()}});
  }
  return absl::OkStatus();
}

bool HasNamespaceEntry(const oci::Spec& spec, const std::string& type) {
  for (const auto& ns : spec.linux().namespaces()) {
    if (ns.type() == type) return true;
  }
  return false;
}

std::string DescribeSetupItem(const InitPlan& plan, int32_t step, int32_t index) {
  const auto at = [index](const auto& list) { return index >= 0 && static_cast<size_t>(index) < list.size(); };
  switch (step) {
    case kStepMount:
      if (!at(plan.mounts)) break;
      {
        const MountStep& m = plan.mounts[index];
        return StrCat(" ", m.destination, " (mounts[", index, "], ", m.bind ? "bind" : m.fstype, " from ", m.source, ")");
      }
    case kStepDevice:
      if (at(plan.devices)) return StrCat(" ", plan.devices[index].path);
      break;
    case kStepSymlink:
      if (at(plan.symlinks)) return StrCat(" /", plan.symlinks[index].relative);
      break;
    case kStepSysctl:
      if (at(plan.sysctls)) return StrCat(" ", plan.sysctls[index].key);
      break;
    case kStepReadonly:
      if (at(plan.readonly_paths)) return StrCat(" ", plan.readonly_paths[index]);
      break;
    case kStepMask:
      if (at(plan.masked_paths)) return StrCat(" ", plan.masked_paths[index]);
      break;
    case kStepJoinNamespace:
      if (at(plan.joins)) return StrCat(" ", plan.joins[index].path);
      break;
    case kStepRlimit:
      if (index >= 0) return StrCat(" ", RlimitName(index));
      break;
  }
  return "";
}

}  // namespace kata::guest
