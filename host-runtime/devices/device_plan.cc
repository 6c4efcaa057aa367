#include "host-runtime/devices/device_plan.h"

#include <array>
#include <set>

#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

struct GuestCharDevice {
  int64_t major, minor;
  const char* name;
};
// Numbered alike on every Linux (Documentation/admin-guide/devices.txt), so the guest's own.
constexpr std::array<GuestCharDevice, 8> kGuestCharDevices = {{{1, 3, "null"},
                                                              {1, 5, "zero"},
                                                              {1, 7, "full"},
                                                              {1, 8, "random"},
                                                              {1, 9, "urandom"},
                                                              {5, 0, "tty"},
                                                              {10, 229, "fuse"},
                                                              {10, 200, "net/tun"}}};

bool IsGuestCharDevice(int64_t major, int64_t minor) {
  for (const GuestCharDevice& d : kGuestCharDevices) {
    if (d.major == major && d.minor == minor) return true;
  }
  return false;
}

std::string Entry(int i, const oci::LinuxDevice& d) { return StrCat("linux.devices[", i, "] (", d.path(), ")"); }

}  // namespace

bool DeviceCgroupAllowsWrite(const oci::Spec& spec, char type, int64_t major, int64_t minor) {
  const auto& rules = spec.linux().resources().devices();
  bool writable = rules.empty();
  for (const oci::LinuxDeviceCgroup& r : rules) {
    const bool type_matches = r.type().empty() || r.type() == "a" || r.type() == std::string(1, type);
    const bool major_matches = !r.has_major() || r.major() == -1 || r.major() == major;
    const bool minor_matches = !r.has_minor() || r.minor() == -1 || r.minor() == minor;
    if (!type_matches || !major_matches || !minor_matches) continue;
    // An empty access is "rwm" (runtime-spec).
    if (r.access().empty() || r.access().find('w') != std::string::npos) writable = r.allow();
  }
  return writable;
}

bool DeviceCgroupAllowsAll(const oci::Spec& spec) {
  for (const oci::LinuxDeviceCgroup& r : spec.linux().resources().devices()) {
    const bool any_type = r.type().empty() || r.type() == "a";
    const bool any_major = !r.has_major() || r.major() == -1, any_minor = !r.has_minor() || r.minor() == -1;
    const bool rwm = r.access().empty() || (r.access().find('r') != std::string::npos &&
                                            r.access().find('w') != std::string::npos &&
                                            r.access().find('m') != std::string::npos);
    if (r.allow() && any_type && any_major && any_minor && rwm) return true;
  }
  return false;
}

absl::StatusOr<DevicePlan> PlanContainerDevices(const oci::Spec& spec, const HostBlockDeviceLookup& lookup) {
  DevicePlan plan;
  if (DeviceCgroupAllowsAll(spec)) {
    plan.withheld_host_devices = spec.linux().devices_size();
    return plan;
  }
  std::set<std::string> paths;
  const auto& devices = spec.linux().devices();
  for (int i = 0; i < devices.size(); ++i) {
    const oci::LinuxDevice& d = devices[i];
    if (d.path().empty() || d.path().front() != '/') {
      return absl::InvalidArgumentError(StrCat(Entry(i, d), ": path is not absolute"));
    }
    if (!paths.insert(d.path()).second) {
      return absl::InvalidArgumentError(StrCat(Entry(i, d), ": a second device at this path"));
    }
    if (d.path().starts_with("/dev/vfio/")) {
      return absl::UnimplementedError(
          StrCat(Entry(i, d), ": VFIO passthrough is not supported yet; the host's device cannot be given to the VM"));
    }
    if (d.type() == "p") continue;  // a FIFO is made in the guest as in any root
    if (d.major() < 0 || d.minor() < 0) {
      return absl::InvalidArgumentError(StrCat(Entry(i, d), ": major and minor are required for type \"", d.type(), "\""));
    }
    if (d.type() == "c" || d.type() == "u") {
      if (IsGuestCharDevice(d.major(), d.minor())) continue;
      return absl::InvalidArgumentError(StrCat(
          Entry(i, d), ": character device ", d.major(), ":", d.minor(),
          " is the host's and cannot be reached from the VM (the guest gives its own null, zero, full, random, urandom, "
          "tty, fuse and net/tun; for privileged containers, set containerd's privileged_without_host_devices)"));
    }
    if (d.type() != "b") {
      return absl::InvalidArgumentError(StrCat(Entry(i, d), ": type \"", d.type(), "\" is not one of b, c, u, p"));
    }
    auto host_path = lookup(d.major(), d.minor());
    if (!host_path.ok()) {
      return absl::Status(host_path.status().code(), StrCat(Entry(i, d), ": ", host_path.status().message()));
    }
    plan.block.push_back({i, d.path(), *host_path, !DeviceCgroupAllowsWrite(spec, 'b', d.major(), d.minor())});
  }
  return plan;
}

}  // namespace kata::runtime
