#pragma once

// The syscall side of the device cgroup: a device program loaded and attached to a cgroup
// v2 directory (BPF_CGROUP_DEVICE), replacing whatever device program was attached to it
// before, as runc does (atomically with BPF_F_REPLACE when there is exactly one).
// Needs CONFIG_CGROUP_BPF and CONFIG_BPF_SYSCALL in the kernel.

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::guest {

// On failure the cgroup keeps the programs it had; the error names the cgroup and, for a
// program the verifier refused, the verifier's last words.
absl::Status AttachDeviceProgram(const std::string& cgroup_dir, const std::vector<bpf_insn>& program);

// How many device programs are attached to the cgroup itself (not its ancestors).
absl::StatusOr<int> CountDevicePrograms(const std::string& cgroup_dir);

}  // namespace kata::guest
