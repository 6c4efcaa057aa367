#pragma once

// OnlineCPUMem: brings vCPUs and hot-plugged memory online, as Kata's agent does, and takes
// vCPUs offline (kata-cpp's offline_cpus). Memory QEMU adds through ACPI is registered offline
// (memoryN blocks with state "offline"). The runtime starts the VM with all its vCPUs present
// and only some online (the kernel's maxcpus=), since an ACPI vCPU hot-plug needs a guest that
// detects a hypervisor, which a 6.12 guest under TCG does not: the vCPUs to grow by are cpuN
// with online = 0. CPUs are waited for all the same (a kernel may still be registering them).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct OnlinedResources {
  uint32_t cpus = 0;
  uint32_t offlined_cpus = 0;
  uint32_t memory_blocks = 0;
};

// One pass under `system_dir` (/sys/devices/system): writes 1 to at most `max_cpus` offline
// cpuN/online files, lowest-numbered first (cpu0 has none: it is never offline). Returns how
// many it onlined.
absl::StatusOr<uint32_t> OnlineOfflineCpus(const std::string& system_dir, uint32_t max_cpus);

// Writes 0 to at most `max_cpus` cpuN/online files reading 1, highest-numbered first (cpu0
// stays). Returns how many it took offline.
absl::StatusOr<uint32_t> OfflineOnlineCpus(const std::string& system_dir, uint32_t max_cpus);

// Writes "online" to every memoryN/state that says "offline". Returns how many.
absl::StatusOr<uint32_t> OnlineOfflineMemory(const std::string& system_dir);

// The request: nb_cpus vCPUs onlined within `timeout` (they may not be registered yet), then
// every offline memory block unless cpu_only. InvalidArgument when nb_cpus is more than the
// guest could ever have (cpu/possible), or with offline_cpus too; DeadlineExceeded naming how
// many came. offline_cpus that many online CPUs taken offline; FailedPrecondition when fewer
// could go.
absl::StatusOr<OnlinedResources> OnlineCpuMem(const agent::OnlineCPUMemRequest& req, const std::string& system_dir,
                                              absl::Duration timeout);

}  // namespace kata::guest
