#pragma once

// The pod sandbox's cgroup on the host (Kata's sandbox_cgroup_only): the shim joins it before
// it starts QEMU, so QEMU and every thread of both are accounted to the pod, in every
// hierarchy the host mounts (host_cgroup_plan.h decides where).

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "host-runtime/cgroups/host_cgroup_plan.h"

namespace kata::runtime {

// The host's hierarchies, from /proc/self/mountinfo.
std::vector<CgroupHierarchy> HostCgroupHierarchies();

class HostCgroup {
 public:
  HostCgroup() = default;
  HostCgroup(HostCgroup&&) = default;
  HostCgroup& operator=(HostCgroup&&) = default;
  ~HostCgroup() = default;  // Remove() is explicit: a shim that exits keeps the pod's accounting

  // Makes `relative` (with its missing parents) in each hierarchy; a v1 cpuset directory gets
  // its parent's cpus and mems, without which nothing may join it. On failure what was made
  // is removed and the error names the directory.
  static absl::StatusOr<HostCgroup> Create(std::vector<CgroupHierarchy> hierarchies, const std::string& relative);

  bool valid() const { return !relative_.empty(); }
  const std::string& relative() const { return relative_; }

  // Moves process `pid` (all its threads) in, in every hierarchy, noting where it was. On
  // failure it is moved back.
  absl::Status Join(pid_t pid);
  // Moves the processes that joined back where they were (those still alive), then removes
  // the directories Create made, deepest first, waiting up to a second for exiting
  // processes to leave. Idempotent.
  absl::Status Remove();

 private:
  std::vector<CgroupHierarchy> hierarchies_;
  std::string relative_;
  std::vector<std::string> made_;  // absolute directories, in the order made
  std::vector<std::pair<pid_t, std::vector<std::string>>> joined_;  // pid, its cgroup per hierarchy before
};

// After a shim died: `relative`'s own directory in each hierarchy, if it is there and empty.
void RemoveHostCgroupLeaf(const std::vector<CgroupHierarchy>& hierarchies, const std::string& relative);

}  // namespace kata::runtime
