#include <sys/mount.h>

#include <algorithm>

#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/options.h"

namespace kata::guest {
namespace {

constexpr unsigned long kPropagationFlags = MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE;

// Files under /proc a mount may cover (lxcfs's), as runc allows (checkProcMount).
constexpr std::string_view kProcFilesAllowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
};

std::string Clean(const std::string& dest) {
  std::string out;
  for (size_t i = 0; i < dest.size(); ++i) {
    if (dest[i] == '/' && (out.empty() || out.back() == '/')) continue;
    out += dest[i];
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
  return "/" + out;
}

absl::Status CheckProcMount(const std::string& dest, const std::string& type) {
  if (dest == "/proc") {
    if (type != "proc") return absl::InvalidArgumentError(StrCat("/proc may only be a proc mount, not ", type));
    return absl::OkStatus();
  }
  if (!dest.starts_with("/proc/")) return absl::OkStatus();
  if (std::find(std::begin(kProcFilesAllowed), std::end(kProcFilesAllowed), dest) != std::end(kProcFilesAllowed)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(StrCat("mounting over ", dest, " could hide /proc's protections (runc allows only lxcfs's files)"));
}

struct RecursiveOption {
  std::string_view name;
  uint64_t attr;
  bool clears;
};
constexpr RecursiveOption kRecursiveOptions[] = {
    {"rro", MOUNT_ATTR_RDONLY, false},        {"rrw", MOUNT_ATTR_RDONLY, true},
    {"rnosuid", MOUNT_ATTR_NOSUID, false},    {"rsuid", MOUNT_ATTR_NOSUID, true},
    {"rnodev", MOUNT_ATTR_NODEV, false},      {"rdev", MOUNT_ATTR_NODEV, true},
    {"rnoexec", MOUNT_ATTR_NOEXEC, false},    {"rexec", MOUNT_ATTR_NOEXEC, true},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, false}, {"rdiratime", MOUNT_ATTR_NODIRATIME, true},
    {"rrelatime", MOUNT_ATTR_RELATIME, false}, {"rnorelatime", MOUNT_ATTR_RELATIME, true},
    {"rnoatime", MOUNT_ATTR_NOATIME, false},  {"ratime", MOUNT_ATTR_NOATIME, true},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, false},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, false}, {"rsymfollow", MOUNT_ATTR_NOSYMFOLLOW, true},
};

const RecursiveOption* FindRecursiveOption(std::string_view name) {
  for (const RecursiveOption& r : kRecursiveOptions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<MountStep> PlanMount(const oci::Mount& m, const PlanEnvironment& env) {
  const auto split = mount::SplitKataMarkers({m.options().begin(), m.options().end()});
  MountStep step;
  step.destination = m.destination();
  const std::string dest = Clean(m.destination());
  step.relative = dest.substr(1);
  // Propagation options each take a mount(2) call of their own after the mount.
  std::vector<std::string> others;
  for (const std::string& o : split.mount_options) {
    auto parsed = mount::ParseMountOptions({o});
    if (parsed.ok() && parsed->data.empty() && (parsed->flags & kPropagationFlags) != 0) {
      step.propagation.push_back(parsed->flags);
    } else {
      others.push_back(o);
    }
  }
  // rro, rnosuid...: runc's recursive variants, for binds, through mount_setattr.
  std::vector<std::string> plain;
  for (const std::string& o : others) {
    const RecursiveOption* r = FindRecursiveOption(o);
    if (r == nullptr) {
      plain.push_back(o);
      continue;
    }
    if (r->clears) {
      step.recursive_attr_clr |= r->attr;
      step.recursive_attr_set &= ~r->attr;
    } else {
      step.recursive_attr_set |= r->attr;
      step.recursive_attr_clr &= ~r->attr;
    }
    // The atime mode is one field (relatime is its 0): setting one means clearing the field first.
    if (!r->clears && (r->name == "rrelatime" || r->name == "rnoatime" || r->name == "rstrictatime")) {
      step.recursive_attr_clr |= MOUNT_ATTR__ATIME;
    }
  }
  others = std::move(plain);
  // podman's tmpcopyup is ours to do, never the kernel's.
  const size_t before = others.size();
  std::erase(others, std::string("tmpcopyup"));
  step.tmpcopyup = others.size() != before;
  if (step.tmpcopyup && m.type() != "tmpfs") {
    return absl::InvalidArgumentError(StrCat("option tmpcopyup is for tmpfs mounts, not ", m.type()));
  }
  ASSIGN_OR_RETURN(mount::MountOptions opts, mount::ParseMountOptions(others));
  step.flags = opts.flags;
  const bool bind = (step.flags & MS_BIND) != 0 || m.type() == "bind";
  RETURN_IF_ERROR(CheckProcMount(dest, bind ? "bind" : m.type()));
  if (!bind && (step.recursive_attr_set | step.recursive_attr_clr) != 0) {
    return absl::InvalidArgumentError("recursive options (rro, rnosuid...) apply to bind mounts only");
  }
  if (bind) {
    step.bind = true;
    step.source = m.source();
    if (step.source.empty() || step.source.front() != '/') {
      return absl::InvalidArgumentError(StrCat("bind source \"", step.source, "\" is not an absolute path in the VM"));
    }
    auto is_dir = env.source_is_dir ? env.source_is_dir(step.source) : absl::StatusOr<bool>(true);
    if (!is_dir.ok()) {
      return absl::Status(is_dir.status().code(), StrCat("bind source ", step.source, ": ", ToStd(is_dir.status().message())));
    }
    step.source_is_dir = *is_dir;
    // The bind itself takes only BIND|REC; ro, nosuid... need a remount (runc does the same).
    const unsigned long rest = step.flags & ~static_cast<unsigned long>(MS_BIND | MS_REC | MS_REMOUNT);
    step.flags = MS_BIND | (step.flags & MS_REC);
    step.remount_flags = rest;
    step.fstype = "";
    return step;
  }
  if (m.type().empty()) return absl::InvalidArgumentError("type is required for a mount that is not a bind");
  step.fstype = m.type();
  step.source = m.source().empty() ? m.type() : m.source();
  step.data = opts.data;
  if (step.fstype == "cgroup") {
    // The VM is cgroup v2 only: runc on a v2 host mounts cgroup2 for a `cgroup` mount; v1
    // options (controller names) mean nothing there.
    step.fstype = "cgroup2";
    step.data.clear();
  }
  step.no_symlink = step.fstype == "proc" || step.fstype == "sysfs";
  step.tmpfs_keep_mode = step.fstype == "tmpfs" && step.data.find("mode=") == std::string::npos;
  step.readonly_after_devices = dest == "/dev" && (step.flags & MS_RDONLY) != 0;
  return step;
}

absl::StatusOr<unsigned long> RootPropagation(const std::string& value) {
  if (value.empty()) return static_cast<unsigned long>(MS_SLAVE | MS_REC);  // runc's default
  static const std::pair<const char*, unsigned long> kValues[] = {
      {"private", MS_PRIVATE},         {"rprivate", MS_PRIVATE | MS_REC}, {"slave", MS_SLAVE},
      {"rslave", MS_SLAVE | MS_REC},   {"shared", MS_SHARED},             {"rshared", MS_SHARED | MS_REC},
      {"unbindable", MS_UNBINDABLE},   {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [name, flags] : kValues) {
    if (value == name) return flags;
  }
  return absl::InvalidArgumentError(StrCat("linux.rootfsPropagation: \"", value, "\" is not a propagation mode"));
}

}  // namespace kata::guest
