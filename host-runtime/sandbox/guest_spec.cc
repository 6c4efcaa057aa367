#include "host-runtime/sandbox/guest_spec.h"

#include <algorithm>

#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr std::string_view kGuestKernelFilesystems[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"};

bool IsBind(const oci::Mount& m) {
  return m.type() == "bind" || std::any_of(m.options().begin(), m.options().end(),
                                           [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

}  // namespace

std::string GuestRootfsPath(const std::string& container_id) {
  return StrCat("/run/kata-containers/", container_id, "/rootfs");
}

std::string GuestSharedRootfsPath(const std::string& container_id) {
  return StrCat(kGuestSharedDir, "/", container_id, "/rootfs");
}

absl::StatusOr<oci::Spec> GuestSpec(const oci::Spec& spec, const std::string& guest_rootfs) {
  oci::Spec out = spec;
  out.mutable_root()->set_path(guest_rootfs);
  out.clear_hooks();
  out.clear_mounts();
  for (const oci::Mount& m : spec.mounts()) {
    if (IsBind(m)) {
      return absl::UnimplementedError(StrCat("mount ", m.destination(), ": binding host path ", m.source(),
                                             " into the VM needs the shared filesystem, not there yet"));
    }
    if (std::find(std::begin(kGuestKernelFilesystems), std::end(kGuestKernelFilesystems), m.type()) ==
        std::end(kGuestKernelFilesystems)) {
      return absl::UnimplementedError(StrCat("mount ", m.destination(), ": type \"", m.type(), "\" cannot be made in the VM"));
    }
    *out.add_mounts() = m;
  }
  return out;
}

}  // namespace kata::runtime
