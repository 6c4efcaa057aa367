#pragma once

// A running VM's size: memory added over QMP as pc-dimm DIMMs into the room
// `-m N,slots=S,maxmem=X` left (the guest's agent onlines it), and the count of vCPUs the
// guest has online. The VM starts with all max_vcpus present and `vcpus` of them online
// (BuildQemuCommand): the agent onlines and offlines them, so no vCPU is hot-plugged. An ACPI vCPU
// hot-plug needs a guest kernel that counts QEMU's disabled MADT entries, which 6.12 does
// only when it detects a hypervisor (not under TCG). Thread-safe.

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "host-runtime/qmp/qmp_client.h"
#include "host-runtime/vm/vm_size.h"

namespace kata::runtime {

class VmResizer {
 public:
  VmResizer(QmpClient& qmp, const VmSizeBounds& bounds)
      : qmp_(qmp), bounds_(bounds), vcpus_(bounds.boot_vcpus), memory_mib_(bounds.boot_memory_mib) {}

  const VmSizeBounds& bounds() const { return bounds_; }
  VmSize current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Records that the guest now has `vcpus` online.
  void SetOnlineVcpus(uint32_t vcpus) ABSL_LOCKS_EXCLUDED(mu_);

  // Adds memory (one DIMM) so the VM has `memory_mib`; never removes any. Returns the MiB
  // added (0 when it has that much already) once the guest acknowledged the DIMM (ACPI _OST:
  // its memory blocks are registered, offline). OutOfRange beyond the maximum,
  // ResourceExhausted when every slot is used; a DIMM QEMU refused leaves no memory backend
  // behind; one the guest did not acknowledge within `ost_timeout` stays, counted.
  absl::StatusOr<uint64_t> GrowMemory(uint64_t memory_mib, absl::Duration ost_timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  QmpClient& qmp_;
  const VmSizeBounds bounds_;
  mutable absl::Mutex mu_;
  uint32_t vcpus_ ABSL_GUARDED_BY(mu_);
  uint64_t memory_mib_ ABSL_GUARDED_BY(mu_);
  uint32_t dimms_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kata::runtime
