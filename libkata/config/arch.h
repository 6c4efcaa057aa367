#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace kata::config {

enum class Arch { kX86_64, kAarch64, kPpc64le, kS390x };

Arch HostArch();
absl::StatusOr<Arch> ArchFromName(std::string_view name);  // "x86_64", "amd64", "ppc64le", ...
std::string_view ArchName(Arch arch);

// The granularity guest memory must have on this architecture, in MiB. ppc64le's pseries
// machine needs memory and maxmem in multiples of its 256 MiB LMB size (QEMU refuses other
// sizes; Kata's ppc64le support had to add this); elsewhere 2 MiB keeps the guest's RAM
// made of whole huge pages.
uint64_t MemoryAlignmentMiB(Arch arch);

// `mib` rounded up to the architecture's alignment (never below one unit).
uint64_t AlignMemoryMiB(uint64_t mib, Arch arch);

}  // namespace kata::config
