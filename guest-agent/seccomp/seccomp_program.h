#pragma once

// A seccomp profile compiled into the BPF program the container's process loads: built by
// libseccomp in the agent (the child of a multi-threaded process may not allocate), with
// runc's ENOSYS stub in front, loaded in the child by one seccomp(2) call.

#include <linux/filter.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

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

// Compiled programs by profile: libseccomp takes ~10 ms for containerd's RuntimeDefault (three
// architectures), and a pod's containers almost always share one profile. Thread-safe;
// holds at most kMaxEntries profiles (the oldest goes first).
class SeccompProgramCache {
 public:
  static constexpr size_t kMaxEntries = 16;
  absl::StatusOr<SeccompProgram> Get(const oci::Linux& linux) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::deque<std::pair<std::string, SeccompProgram>> entries_ ABSL_GUARDED_BY(mu_);  // serialized profile -> program
};

// In the child, syscalls only: seccomp(SECCOMP_SET_MODE_FILTER). 0 or an errno.
int LoadSeccompProgram(const SeccompProgram& program) noexcept;

}  // namespace kata::guest
