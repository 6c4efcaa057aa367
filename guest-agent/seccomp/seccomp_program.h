#pragma once

// A seccomp profile compiled into the BPF program the container's process loads: built by
// libseccomp in the agent (the child of a multi-threaded process may not allocate), with
// runc's ENOSYS stub in front, loaded in the child by one seccomp(2) call.

#include <linux/filter.h>

#include <vector>

#include "absl/status/statusor.h"
#include "guest-agent/seccomp/seccomp_profile.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

struct SeccompProgram {
  std::vector<sock_filter> instructions;  // empty: no filter
  unsigned int flags = 0;                 // SECCOMP_FILTER_FLAG_*
};

absl::StatusOr<SeccompProgram> CompileSeccomp(const SeccompProfile& profile);

// The spec's linux.seccomp, or an empty program when it asks for none.
absl::StatusOr<SeccompProgram> CompileSpecSeccomp(const oci::Linux& linux);

// In the child, syscalls only: seccomp(SECCOMP_SET_MODE_FILTER). 0 or an errno.
int LoadSeccompProgram(const SeccompProgram& program) noexcept;

}  // namespace kata::guest
