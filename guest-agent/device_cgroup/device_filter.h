#pragma once

// The syscall side of the device cgroup: a device program loaded and attached to a cgroup
// v2 directory (BPF_CGROUP_DEVICE), replacing whatever device program was attached to it
// before, as runc does (atomically with BPF_F_REPLACE when there is exactly one).
// Needs CONFIG_CGROUP_BPF and CONFIG_BPF_SYSCALL in the kernel.

#include <linux/bpf.h>

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

// Loads the program into the kernel (the verifier runs here); an error for a refused one
// carries the verifier's last words.
absl::StatusOr<UniqueFd> LoadDeviceProgram(const std::vector<bpf_insn>& program, const std::string& what);

// Attaches a loaded program. On failure the cgroup keeps the programs it had; the error
// names the cgroup.
absl::Status AttachDeviceProgram(const std::string& cgroup_dir, int program_fd);

// Both in one.
absl::Status AttachDeviceProgram(const std::string& cgroup_dir, const std::vector<bpf_insn>& program);

// Loaded programs by their instructions: one program serves every cgroup with the same
// rules (a pod's containers mostly share containerd's), so the verifier runs once - it is
// the bulk of the cost, ~15 ms for containerd's rules in a TCG guest. Thread-safe; at most
// kMaxEntries programs stay loaded (the oldest goes first).
class DeviceProgramCache {
 public:
  static constexpr size_t kMaxEntries = 16;
  absl::StatusOr<std::shared_ptr<const UniqueFd>> Get(const std::vector<bpf_insn>& program) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::deque<std::pair<std::string, std::shared_ptr<const UniqueFd>>> entries_ ABSL_GUARDED_BY(mu_);
};

// How many device programs are attached to the cgroup itself (not its ancestors).
absl::StatusOr<int> CountDevicePrograms(const std::string& cgroup_dir);

}  // namespace kata::guest
