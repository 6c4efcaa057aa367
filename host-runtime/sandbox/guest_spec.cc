#include "host-runtime/sandbox/guest_spec.h"


#include "libkata/base/str_cat.h"

namespace kata::runtime {

std::string GuestRootfsPath(const std::string& container_id) {
  return StrCat("/run/kata-containers/", container_id, "/rootfs");
}

std::string GuestSharedRootfsPath(const std::string& container_id) {
  return StrCat(kGuestSharedDir, "/", container_id, "/rootfs");
}

bool IsGuestKernelPath(const std::string& path) {
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/')) return true;
  }
  return false;
}

absl::StatusOr<GuestSpecPlan> GuestSpec(const oci::Spec& spec, const std::string& guest_rootfs, const std::string& container_id,
                                       bool have_shared_fs, bool sandbox_dns) {
  GuestSpecPlan plan;
  plan.spec = spec;
  oci::Spec& out = plan.spec;
  out.mutable_root()->set_path(guest_rootfs);
  out.clear_hooks();
  for (int i = 0; i < out.mounts_size(); ++i) {
    oci::Mount& m = *out.mutable_mounts(i);
    if (!IsBindMount(m) || IsGuestKernelPath(m.source())) continue;
    if (sandbox_dns && m.destination() == "/etc/resolv.conf") {
      m.set_source(kGuestSandboxResolvConf);
      continue;
    }
    if (!have_shared_fs) {
      return absl::FailedPreconditionError(StrCat("mounts[", i, "] (", m.destination(), "): binding host path ", m.source(),
                                                  " needs hypervisor.shared_fs virtio-9p"));
    }
    if (m.source().empty() || m.source().front() != '/') {
      return absl::InvalidArgumentError(StrCat("mounts[", i, "] (", m.destination(), "): bind source \"", m.source(),
                                               "\" is not an absolute host path"));
    }
    SharedBind b;
    b.mount_index = i;
    b.source = m.source();
    b.host_target = StrCat(container_id, "/mounts/", i);
    b.guest_source = StrCat(kGuestSharedDir, "/", b.host_target);
    for (const std::string& o : m.options()) {
      if (o == "ro") b.readonly = true;
      if (o == "rw") b.readonly = false;
      if (o == "rbind") b.recursive = true;
    }
    m.set_source(b.guest_source);
    plan.binds.push_back(std::move(b));
  }
  return plan;
}

}  // namespace kata::runtime
