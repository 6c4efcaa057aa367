#include "host-runtime/vm/vm_size.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"

namespace kata::runtime {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

VmSizeBounds ResolveVmSizeBounds(const config::HypervisorConfig& hv, uint32_t host_cpus, uint64_t host_memory_mib) {
  VmSizeBounds b;
  b.boot_vcpus = hv.vcpus;
  b.max_vcpus = std::max(hv.vcpus, hv.max_vcpus != 0 ? hv.max_vcpus : std::min(host_cpus, kGuestMaxVcpus));
  b.boot_memory_mib = hv.memory_mib;
  const uint64_t max = hv.max_memory_mib != 0 ? hv.max_memory_mib : host_memory_mib;
  // Room for whole blocks only: QEMU would refuse a DIMM that does not fit.
  const uint64_t room = max > hv.memory_mib ? (max - hv.memory_mib) / kMemoryBlockMiB * kMemoryBlockMiB : 0;
  b.max_memory_mib = hv.memory_mib + room;
  b.memory_slots = room > 0 ? hv.memory_slots : 0;
  return b;
}

absl::StatusOr<uint32_t> HostCpuCount() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) return absl::InternalError("sysconf(_SC_NPROCESSORS_ONLN) failed");
  return static_cast<uint32_t>(n);
}

absl::StatusOr<uint64_t> HostMemoryMiB() {
  ASSIGN_OR_RETURN(std::string meminfo, ReadFileToString("/proc/meminfo"));
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemTotal:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    uint64_t kib = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) return kib / 1024;
  }
  return absl::InternalError("/proc/meminfo has no MemTotal");
}

VmSize PlanVmSize(const VmSizeBounds& bounds, const std::vector<oci::LinuxResources>& containers) {
  uint64_t cpus = 0;
  uint64_t memory_mib = 0;
  for (const oci::LinuxResources& r : containers) {
    // A quota without a period uses the kernel's default period, as runc writes it.
    if (r.has_cpu() && r.cpu().has_quota() && r.cpu().quota() > 0) {
      const uint64_t period = r.cpu().has_period() && r.cpu().period() > 0 ? r.cpu().period() : 100000;
      cpus += CeilDiv(static_cast<uint64_t>(r.cpu().quota()), period);
    }
    if (r.has_memory() && r.memory().has_limit() && r.memory().limit() > 0) {
      memory_mib += CeilDiv(static_cast<uint64_t>(r.memory().limit()), 1 << 20);
    }
  }
  VmSize size;
  size.vcpus = static_cast<uint32_t>(std::min<uint64_t>(bounds.boot_vcpus + cpus, bounds.max_vcpus));
  size.memory_mib = bounds.boot_memory_mib;
  if (bounds.memory_hotplug() && memory_mib > 0) {
    const uint64_t added = std::min(CeilDiv(memory_mib, kMemoryBlockMiB) * kMemoryBlockMiB,
                                    bounds.max_memory_mib - bounds.boot_memory_mib);
    size.memory_mib += added;
  }
  return size;
}

}  // namespace kata::runtime
