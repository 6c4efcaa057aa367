#pragma once

// A DevicePolicy as the eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) the kernel runs on every
// mknod and open of a device node by a process of the cgroup. The program decides each
// requested access bit (mknod, read, write) in turn: the policy's rules that carry the bit,
// last first, the first that matches allowing (on to the next bit) or denying; none
// matching denies. Every requested bit allowed: 1 (allow), else 0 (EPERM).

#include <linux/bpf.h>

#include <vector>

#include "absl/status/statusor.h"
#include "guest-agent/device_cgroup/device_rules.h"

namespace kata::guest {

absl::StatusOr<std::vector<bpf_insn>> BuildDeviceProgram(const DevicePolicy& policy);

}  // namespace kata::guest
