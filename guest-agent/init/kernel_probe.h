#pragma once

// What the running kernel lacks of what the agent needs (libkata/kernel's requirements),
// seen from inside: /proc/filesystems, the cgroup2 root's controllers, /proc/self/ns, a few
// /proc and /sys entries, and a BPF query on the cgroup. Run after the modules are loaded.

#include <string>
#include <vector>

#include "libkata/kernel/guest_kernel_requirements.h"

namespace kata::guest {

struct KernelProbeRoots {
  std::string proc = "/proc";
  // The cgroup2 mount: /sys/fs/cgroup in the guest; on a hybrid host its "unified" child.
  std::vector<std::string> cgroup2_candidates = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
};

kernel::GuestObservation ObserveKernel(const KernelProbeRoots& roots = {});

// "CONFIG_EROFS_FS (EROFS image layers)" for each requirement the kernel does not meet,
// required ones first, then the optional ones ("CONFIG_IPV6 (container networking over
// IPv6; optional)").
std::vector<std::string> KernelLacks(const KernelProbeRoots& roots = {});

}  // namespace kata::guest
