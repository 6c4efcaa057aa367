#pragma once

// OCI linux.resources -> the cgroup v2 interface files to write, decided without touching
// the filesystem (the guest mounts cgroup2 only). Conversions follow the OCI runtime spec's
// cgroup v2 mapping: cpu.shares -> cpu.weight, blkio weights -> io.weight, memory.swap
// (memory + swap) -> memory.swap.max (swap alone).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

struct CgroupWrite {
  std::string file;   // "memory.max"
  std::string value;  // "268435456"
  // A kernel without swap accounting has no memory.swap.max; "max" or "0" there asks for
  // what such a kernel gives anyway, so the write is skipped, as runc skips it. containerd's
  // CRI sends swap = limit (no swap) with every memory limit.
  bool skip_if_absent = false;
  bool operator==(const CgroupWrite&) const = default;
};

struct CgroupPlan {
  std::vector<CgroupWrite> writes;
  // Fields that have no cgroup v2 file (memory.kernel, memory.swappiness, ...): named so the
  // caller can log that they were not applied.
  std::vector<std::string> ignored;
};

// Only the fields that are set produce writes, so the same plan serves a container's
// creation and an update. Values out of range (a swap limit below the memory limit, a
// weight outside 10..1000, an interface file name that is not "<controller>.<key>" or that
// would reshape the tree, like cgroup.procs) are InvalidArgument naming the field.
absl::StatusOr<CgroupPlan> PlanCgroupWrites(const oci::LinuxResources& resources);

}  // namespace kata::guest
