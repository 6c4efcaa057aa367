#pragma once

// OCI linux.seccomp -> a profile in libseccomp's terms, decided without loading anything:
// the action of each rule and of the default, the architectures, the argument conditions
// and the load flags, with runc's rules (../shared/reference/guest-isolation.md):
// unknown syscall names are skipped, a rule whose action is the default action is dropped,
// two conditions on the same argument make one rule each (OR), and SCMP_ACT_NOTIFY is
// refused (the agent has no listener to hand the fd to).

#include <seccomp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

struct SeccompRule {
  int syscall = 0;       // libseccomp's number (negative: a pseudo-syscall of another arch)
  std::string name;      // for logs and errors
  uint32_t action = 0;   // SCMP_ACT_*
  std::vector<scmp_arg_cmp> conditions;  // all must hold (AND)
};

struct SeccompProfile {
  uint32_t default_action = SCMP_ACT_ALLOW;
  std::vector<uint32_t> architectures;  // SCMP_ARCH_* tokens (AUDIT_ARCH values) beyond native
  std::vector<SeccompRule> rules;
  unsigned int load_flags = 0;           // SECCOMP_FILTER_FLAG_*
  std::vector<std::string> skipped_names;  // unknown to libseccomp: skipped, as runc does
  // Syscalls newer than every one the profile names get ENOSYS rather than the default
  // action (runc's stub), so a libc falls back (clone3 -> clone); not when the default
  // allows, logs or traces, or already is ENOSYS.
  bool enosys_stub = false;
};

// False when the spec asks for no filter (no object, or no default action and no rules).
bool WantsSeccomp(const oci::Linux& linux);

// InvalidArgument naming the field (linux.seccomp.syscalls[3].args[0].op) for an unknown
// action, operator, architecture or flag, an argument index above 5, or NOTIFY.
absl::StatusOr<SeccompProfile> BuildSeccompProfile(const oci::LinuxSeccomp& seccomp);

}  // namespace kata::guest
