#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// runc's default nodes (AllowedDevices with a path), all 0666 root:root.
struct DefaultNode {
  const char* name;
  int major, minor;
};
constexpr DefaultNode kDefaultNodes[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

std::string Relative(const std::string& path) {
  size_t i = 0;
  while (i < path.size() && path[i] == '/') ++i;
  return path.substr(i);
}

}  // namespace

absl::Status PlanDev(const oci::Spec& spec, const PlanEnvironment& env, InitPlan& plan) {
  plan.devices.clear();
  plan.symlinks.clear();
  // A bind mount on /dev brings its own nodes (runc's needsSetupDev).
  plan.setup_dev = true;
  for (const MountStep& m : plan.mounts) {
    if (m.bind && m.relative == "dev") plan.setup_dev = false;
  }
  const auto& spec_devices = spec.linux().devices();
  for (const DefaultNode& d : kDefaultNodes) {
    const std::string path = StrCat("/dev/", d.name);
    bool overridden = false;
    for (const auto& sd : spec_devices) overridden = overridden || sd.path() == path;
    if (overridden) continue;  // a linux.devices entry with the same path wins
    plan.devices.push_back({path, Relative(path), static_cast<mode_t>(S_IFCHR | 0666),
                            makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)), 0, 0, path});
  }
  for (int i = 0; i < spec_devices.size(); ++i) {
    const oci::LinuxDevice& d = spec_devices[i];
    const std::string field = StrCat("linux.devices[", i, "]");
    if (d.path() == "/dev/ptmx") continue;  // the ptmx symlink serves (runc skips it too)
    mode_t type;
    if (d.type() == "c" || d.type() == "u") {
      type = S_IFCHR;
    } else if (d.type() == "b") {
      type = S_IFBLK;
    } else if (d.type() == "p") {
      type = S_IFIFO;
    } else {
      return absl::InvalidArgumentError(StrCat(field, ".type: \"", d.type(), "\" is not one of c, u, b, p"));
    }
    if (type != S_IFIFO && (d.major() < 0 || d.minor() < 0 ||
                            d.major() > 0xfff || d.minor() > 0xfffff)) {
      return absl::InvalidArgumentError(StrCat(field, ": major and minor must be within 0-4095 and 0-1048575"));
    }
    const mode_t perm = d.has_file_mode() ? static_cast<mode_t>(d.file_mode() & 07777) : 0666;
    const dev_t dev = type == S_IFIFO ? 0 : makedev(static_cast<unsigned>(d.major()), static_cast<unsigned>(d.minor()));
    std::string bind_source;
    if (type != S_IFIFO && env.vm_node) bind_source = env.vm_node(type == S_IFBLK ? 'b' : 'c', d.major(), d.minor());
    plan.devices.push_back({d.path(), Relative(d.path()), static_cast<mode_t>(type | perm), dev, d.has_uid() ? d.uid() : 0,
                            d.has_gid() ? d.gid() : 0, bind_source});
  }
  for (const auto& [name, target] : std::initializer_list<std::pair<const char*, const char*>>{
           {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}) {
    plan.symlinks.push_back({target, StrCat("dev/", name), false});
  }
  if (env.proc_kcore) plan.symlinks.push_back({"/proc/kcore", "dev/core", false});
  plan.symlinks.push_back({"pts/ptmx", "dev/ptmx", true});
  return absl::OkStatus();
}

}  // namespace kata::guest
