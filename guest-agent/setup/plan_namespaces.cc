#include <sched.h>

#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("container");

struct NsType {
  const char* oci;
  const char* proc;  // name under /proc/<pid>/ns
  int flag;
};
constexpr NsType kTypes[] = {
    {"pid", "pid", CLONE_NEWPID},    {"network", "net", CLONE_NEWNET}, {"mount", "mnt", CLONE_NEWNS},
    {"ipc", "ipc", CLONE_NEWIPC},    {"uts", "uts", CLONE_NEWUTS},     {"user", "user", CLONE_NEWUSER},
    {"cgroup", "cgroup", CLONE_NEWCGROUP},
};

// "containerID hostID size" lines for /proc/<pid>/{uid,gid}_map.
absl::StatusOr<std::string> IdMap(const google::protobuf::RepeatedPtrField<oci::LinuxIDMapping>& maps,
                                  std::string_view field) {
  if (maps.empty()) return absl::InvalidArgumentError(StrCat("linux.", field, ": required with a user namespace"));
  if (maps.size() > 340) return absl::InvalidArgumentError(StrCat("linux.", field, ": more than 340 lines"));
  std::string out;
  for (const auto& m : maps) out += StrCat(m.container_id(), " ", m.host_id(), " ", m.size(), "\n");
  return out;
}

}  // namespace

// Listed without a path: new. Absent: the VM's (shared with the agent, as runc shares the
// host's). With a path: the sandbox's namespace of that type - the host's path means nothing
// in the VM; Kata's agent does the same for pods.
absl::Status PlanNamespaces(const oci::Spec& spec, const PlanEnvironment& env, InitPlan& plan) {
  plan.clone_flags = 0;
  plan.joins.clear();
  bool has_mount = false;
  const auto& list = spec.linux().namespaces();
  for (int i = 0; i < list.size(); ++i) {
    const oci::LinuxNamespace& ns = list[i];
    const std::string field = StrCat("linux.namespaces[", i, "]");
    const NsType* type = nullptr;
    for (const NsType& t : kTypes) {
      if (ns.type() == t.oci) type = &t;
    }
    if (type == nullptr) {
      return absl::InvalidArgumentError(StrCat(field, ".type: \"", ns.type(), "\" namespaces are not supported (runc 1.1 has none either)"));
    }
    if (type->flag == CLONE_NEWNS) has_mount = true;
    if (ns.path().empty()) {
      plan.clone_flags |= type->flag;
      continue;
    }
    if (type->flag == CLONE_NEWUSER || type->flag == CLONE_NEWNS) {
      return absl::InvalidArgumentError(StrCat(field, ".path: joining a ", ns.type(), " namespace by path is not supported"));
    }
    if (env.sandbox_init_pid > 0) {
      plan.joins.push_back({type->flag, StrCat("/proc/", env.sandbox_init_pid, "/ns/", type->proc)});
    } else if (type->flag == CLONE_NEWPID) {
      // The VM's own PID namespace holds the agent: never hand it to a container.
      return absl::FailedPreconditionError(StrCat(field, ".path: joining the sandbox's pid namespace needs the sandbox's container, which this VM does not run"));
    } else {
      kLog.Debug("namespace path means the VM's own", {{"type", ns.type()}, {"path", ns.path()}});
    }
  }
  if (!has_mount) {
    // runc would chroot in the caller's mount namespace: here that is the agent's.
    return absl::InvalidArgumentError("linux.namespaces: a container needs its own mount namespace in the VM");
  }
  plan.loopback_up = (plan.clone_flags & CLONE_NEWNET) != 0;
  if (plan.clone_flags & CLONE_NEWUSER) {
    auto uid_map = IdMap(spec.linux().uid_mappings(), "uidMappings");
    if (!uid_map.ok()) return uid_map.status();
    auto gid_map = IdMap(spec.linux().gid_mappings(), "gidMappings");
    if (!gid_map.ok()) return gid_map.status();
    plan.uid_map = *uid_map;
    plan.gid_map = *gid_map;
  } else if (!spec.linux().uid_mappings().empty() || !spec.linux().gid_mappings().empty()) {
    return absl::InvalidArgumentError("linux.uidMappings: id mappings need a new user namespace");
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
