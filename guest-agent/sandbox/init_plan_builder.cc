#include "guest-agent/sandbox/init_plan_builder.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "absl/strings/str_split.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/options.h"
#include "libkata/safe_path/safe_path.h"

namespace kata::guest {
namespace {

absl::StatusOr<int> NamespaceFlags(const oci::Spec& spec) {
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  for (const auto& ns : spec.linux().namespaces()) {
    const std::string& t = ns.type();
    if (t == "mount" || t == "pid" || t == "uts" || t == "ipc") {
      if (!ns.path().empty()) {
        return absl::InvalidArgumentError(StrCat("linux.namespaces: joining a ", t, " namespace by path is not supported"));
      }
    } else if (t == "network") {
      if (ns.path().empty()) flags |= CLONE_NEWNET;  // a path names the sandbox's: the VM's own
    } else if (t == "cgroup") {
      flags |= CLONE_NEWCGROUP;
    } else if (t == "user") {
      if (!ns.path().empty()) return absl::InvalidArgumentError("linux.namespaces: joining a user namespace by path is not supported");
      flags |= CLONE_NEWUSER;
    } else {
      return absl::InvalidArgumentError(StrCat("linux.namespaces: \"", t, "\" namespaces are not supported"));
    }
  }
  return flags;
}

// "containerID hostID size" lines for /proc/<pid>/{uid,gid}_map.
absl::StatusOr<std::string> IdMap(const google::protobuf::RepeatedPtrField<oci::LinuxIDMapping>& maps,
                                  std::string_view field) {
  if (maps.empty()) {
    return absl::InvalidArgumentError(StrCat("linux.", field, ": required with a user namespace"));
  }
  if (maps.size() > 340) return absl::InvalidArgumentError(StrCat("linux.", field, ": more than 340 lines"));
  std::string out;
  for (const auto& m : maps) out += StrCat(m.container_id(), " ", m.host_id(), " ", m.size(), "\n");
  return out;
}

absl::StatusOr<MountStep> PlanMount(const oci::Mount& m, const std::string& rootfs) {
  const auto split = mount::SplitKataMarkers({m.options().begin(), m.options().end()});
  ASSIGN_OR_RETURN(mount::MountOptions opts, mount::ParseMountOptions(split.mount_options));
  MountStep step;
  ASSIGN_OR_RETURN(step.target, safe_path::ScopedJoin(rootfs, m.destination()));
  // Propagation flags need calls of their own; the container's namespace is private anyway.
  step.flags = opts.flags & ~static_cast<unsigned long>(MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE);
  step.data = opts.data;
  step.source = m.source();
  const bool bind = (step.flags & MS_BIND) != 0 || m.type() == "bind";
  if (bind) {
    step.flags |= MS_BIND;
    step.fstype = "none";
    step.data.clear();
    struct stat st;
    if (::stat(m.source().c_str(), &st) != 0) {
      return absl::NotFoundError(StrCat("mount source ", m.source(), " for ", m.destination(), " does not exist"));
    }
    step.target_is_file = !S_ISDIR(st.st_mode);
    step.remount_readonly = (step.flags & MS_RDONLY) != 0;
  } else {
    if (m.type().empty()) return absl::InvalidArgumentError(StrCat("mount ", m.destination(), " has no type"));
    step.fstype = m.type();
    if (step.source.empty()) step.source = m.type();
  }
  return step;
}

// linux.devices: the container gets the VM's node of the same major:minor, bind-mounted at
// its path (a bind works on a read-only rootfs and in a user namespace, where mknod does not).
// The node is found through /sys/dev/{block,char}/M:m/uevent's DEVNAME (there is no udev).
absl::StatusOr<MountStep> PlanDevice(const oci::LinuxDevice& d, const std::string& rootfs) {
  std::string kind;
  if (d.type() == "b") {
    kind = "block";
  } else if (d.type() == "c" || d.type() == "u") {
    kind = "char";
  } else {
    return absl::InvalidArgumentError(StrCat("linux.devices (", d.path(), "): type \"", d.type(), "\" cannot be created"));
  }
  const std::string uevent = StrCat("/sys/dev/", kind, "/", d.major(), ":", d.minor(), "/uevent");
  auto text = ReadFileToString(uevent);
  if (!text.ok()) {
    return absl::NotFoundError(StrCat("linux.devices (", d.path(), "): no ", kind, " device ", d.major(), ":", d.minor(), " in the VM"));
  }
  std::string devname;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (ToStd(line).starts_with("DEVNAME=")) devname = std::string(line.substr(8));
  }
  if (devname.empty() || devname.find("..") != std::string::npos) {
    return absl::NotFoundError(StrCat("linux.devices (", d.path(), "): ", uevent, " names no device node"));
  }
  MountStep step;
  ASSIGN_OR_RETURN(step.target, safe_path::ScopedJoin(rootfs, d.path()));
  step.source = "/dev/" + devname;
  step.fstype = "none";
  step.flags = MS_BIND;
  step.target_is_file = true;
  return step;
}

}  // namespace

absl::Status BuildInitPlan(const oci::Spec& spec, const std::string& rootfs, InitPlan& plan) {
  if (!spec.has_process()) return absl::InvalidArgumentError("process: required to create a container");
  RETURN_IF_ERROR(BuildExecPlan(spec.process(), plan.exec));
  ASSIGN_OR_RETURN(plan.clone_flags, NamespaceFlags(spec));
  if (plan.clone_flags & CLONE_NEWUSER) {
    ASSIGN_OR_RETURN(plan.uid_map, IdMap(spec.linux().uid_mappings(), "uidMappings"));
    ASSIGN_OR_RETURN(plan.gid_map, IdMap(spec.linux().gid_mappings(), "gidMappings"));
  }
  plan.rootfs = rootfs;
  plan.hostname = spec.hostname();
  plan.mounts.clear();
  for (const auto& m : spec.mounts()) {
    auto step = PlanMount(m, rootfs);
    if (!step.ok()) {
      return absl::Status(step.status().code(), StrCat("mounts (", m.destination(), "): ", ToStd(step.status().message())));
    }
    plan.mounts.push_back(std::move(*step));
  }
  for (const auto& d : spec.linux().devices()) {
    ASSIGN_OR_RETURN(MountStep step, PlanDevice(d, rootfs));
    plan.mounts.push_back(std::move(step));
  }
  for (const auto& p : spec.linux().masked_paths()) {
    ASSIGN_OR_RETURN(std::string target, safe_path::ScopedJoin(rootfs, p));
    plan.masked.push_back(std::move(target));
  }
  for (const auto& p : spec.linux().readonly_paths()) {
    ASSIGN_OR_RETURN(std::string target, safe_path::ScopedJoin(rootfs, p));
    plan.readonly.push_back(std::move(target));
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
