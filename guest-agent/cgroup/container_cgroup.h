#pragma once

// The cgroup v2 directories the agent makes: a root (the agent's, with every controller the
// kernel offers enabled below it) and one child per container, which the container's
// processes join before they exec, so nothing they start escapes its limits.

#include <string>

#include "absl/status/statusor.h"
#include "guest-agent/cgroup/resources_plan.h"
#include "libkata/base/unique_fd.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

class ContainerCgroup {
 public:
  ContainerCgroup() = default;
  explicit ContainerCgroup(std::string path) : path_(std::move(path)) {}
  ContainerCgroup(ContainerCgroup&&) = default;
  ContainerCgroup& operator=(ContainerCgroup&&) = default;

  bool valid() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Writes the plan's files in order. On a failed write the files already written get their
  // old contents back, and the error names the file, the value and the cgroup.
  absl::Status Apply(const CgroupPlan& plan) const;
  // An fd on cgroup.procs: writing a pid (or "0", the writer itself) moves it here.
  absl::StatusOr<UniqueFd> OpenProcs() const;
  absl::StatusOr<agent::CgroupStats> Stats() const;
  // cgroup.freeze, then waits (up to a second) until cgroup.events says every process in
  // it has stopped (or runs again).
  absl::Status Freeze(bool frozen) const;
  // Kills every process left in it (cgroup.kill) and removes the directory, waiting up to
  // a second for the dying to leave. Missing is fine.
  absl::Status Remove() const;

 private:
  std::string path_;
};

class CgroupRoot {
 public:
  // `dir` must lie on a cgroup2 mount (FailedPrecondition naming it otherwise); it is made
  // if missing, and every controller its parent offers is enabled for its children.
  static absl::StatusOr<CgroupRoot> Prepare(const std::string& dir);

  const std::string& path() const { return path_; }
  // A new child named after the container; AlreadyExists if one is there.
  absl::StatusOr<ContainerCgroup> Create(const std::string& container_id) const;

 private:
  explicit CgroupRoot(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace kata::guest
