#pragma once

// The cBPF put in front of libseccomp's program so that syscalls newer than a profile get
// ENOSYS instead of the profile's default action (an EPERM for clone3 keeps glibc from
// falling back to clone). runc does the same (patchbpf); Kata's agent does not.
//
// Per architecture of the filter: if the syscall number is above the largest one the
// profile names for that architecture, return ERRNO(ENOSYS); otherwise, and for an
// architecture the profile names nothing for, go on into libseccomp's program.

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::guest {

struct ArchSyscallMax {
  uint32_t audit_arch = 0;  // AUDIT_ARCH_* (libseccomp's token)
  int64_t max_nr = -1;      // -1: the profile names no syscall of this architecture
  // x86_64 only: x32 syscalls arrive with AUDIT_ARCH_X86_64 and bit 30 set in the number.
  bool has_x32 = false;
  int64_t max_x32_nr = -1;  // with the bit
};

// The stub alone; the caller appends libseccomp's program right after it.
absl::StatusOr<std::vector<sock_filter>> EnosysStub(const std::vector<ArchSyscallMax>& arches);

}  // namespace kata::guest
