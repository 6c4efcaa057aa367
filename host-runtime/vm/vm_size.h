#pragma once

// How big a sandbox's VM should be (pure). As Kata sizes it: the boot size plus each
// container's CPU limit (quota / period, rounded up) and memory limit, within the bounds the
// VM was launched with. vCPUs follow the containers both ways; memory only grows (the guest
// cannot be made to give memory back safely), in whole guest memory blocks.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/config/config.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// The guest's memory block (x86_64's for guests below 64 GiB): the unit it onlines memory in,
// so every DIMM is a whole number of them.
inline constexpr uint64_t kMemoryBlockMiB = 128;

struct VmSizeBounds {
  uint32_t boot_vcpus = 1;
  uint32_t max_vcpus = 1;
  uint64_t boot_memory_mib = 0;
  uint64_t max_memory_mib = 0;  // == boot_memory_mib: no memory hot-plug
  uint32_t memory_slots = 0;    // DIMMs QEMU can take (0: no memory hot-plug)

  bool memory_hotplug() const { return memory_slots > 0 && max_memory_mib > boot_memory_mib; }
};

// The most vCPUs the guest kernel can run (rootfs-builder's kernel: NR_CPUS=64). The host's
// CPU count is capped at it when max_vcpus is 0; a larger host would otherwise give the VM
// vCPUs its guest never onlines, and a container's large CPU limit would fail to create.
inline constexpr uint32_t kGuestMaxVcpus = 64;

// Resolves the configuration's bounds: 0 means the host's CPUs (at most kGuestMaxVcpus) or
// memory; a maximum is never below the boot size. Memory hot-plug room is a whole number of
// memory blocks.
VmSizeBounds ResolveVmSizeBounds(const config::HypervisorConfig& hv, uint32_t host_cpus, uint64_t host_memory_mib);

// The host's online CPUs and its memory (MemTotal), for ResolveVmSizeBounds.
absl::StatusOr<uint32_t> HostCpuCount();
absl::StatusOr<uint64_t> HostMemoryMiB();

struct VmSize {
  uint32_t vcpus = 0;
  uint64_t memory_mib = 0;
  bool operator==(const VmSize&) const = default;
};

// The VM's size for these containers' resources (each may lack cpu or memory).
VmSize PlanVmSize(const VmSizeBounds& bounds, const std::vector<oci::LinuxResources>& containers);

}  // namespace kata::runtime
