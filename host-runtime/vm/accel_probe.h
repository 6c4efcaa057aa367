#pragma once

// accel: auto. /dev/kvm existing does not mean KVM boots a guest: on a PVM host it opens fine
// and QEMU then hangs in the guest's first instructions. So auto runs a bounded probe boot of
// the guest kernel under KVM (no initrd: the kernel panics at once, QEMU exits, -no-reboot);
// an exit in time with the kernel's panic on the console means KVM works. The answer is
// cached per QEMU binary and kernel, so only the first sandbox pays for it.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkata/config/config.h"

namespace kata::runtime {

struct AccelDecision {
  config::Accel accel;
  std::string reason;  // for logs and `kata-runtime check`
};

// kvm and tcg are taken as given (kvm fails if /dev/kvm cannot be opened); auto probes.
// `cache_path` holds the last probe's answer with its inputs' identity.
absl::StatusOr<AccelDecision> ResolveAccel(const config::HypervisorConfig& hypervisor, const std::string& cache_path,
                                           absl::Duration probe_budget = absl::Seconds(3));

// Whether /dev/kvm opens and speaks the stable KVM API (necessary, not sufficient).
bool KvmDeviceUsable(std::string* why);

// The probe's cache key for these inputs (pure but for stat): paths with size and mtime.
std::string AccelProbeKey(const config::HypervisorConfig& hypervisor);

}  // namespace kata::runtime
