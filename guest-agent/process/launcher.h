#pragma once

// Starting container processes: the init (clone into new namespaces, mounts, pivot_root,
// wait for Start, exec) and execs (join the init's namespaces, fork into its PID namespace).

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "guest-agent/process/launch_plan.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

struct MountStep {
  std::string source;
  std::string target;  // absolute, inside the rootfs (resolved in it before the clone)
  std::string fstype;
  unsigned long flags = 0;
  std::string data;
  bool target_is_file = false;   // a bind mount of a file needs a file to land on
  bool remount_readonly = false; // bind mounts ignore MS_RDONLY until remounted
};

struct InitPlan {
  ExecPlan exec;
  std::string rootfs;
  int clone_flags = 0;  // CLONE_NEW* for the namespaces the container gets
  std::vector<MountStep> mounts;
  std::vector<std::string> masked;    // absolute paths inside rootfs
  std::vector<std::string> readonly;  // absolute paths inside rootfs
  std::string hostname;
  // With CLONE_NEWUSER: the /proc/<pid>/{uid,gid}_map contents the agent writes before the
  // child goes on ("0 100000 65536\n").
  std::string uid_map, gid_map;
  // Set by LaunchInit: a cgroup namespace is made by the init once it is in its cgroup.
  bool unshare_cgroupns = false;
};

// The agent's ends of a new process's pipes, and its pid.
struct Launched {
  pid_t pid = -1;
  UniqueFd stdin_w, stdout_r, stderr_r;
  UniqueFd start_w;   // init only: one byte lets it exec
  UniqueFd status_r;  // init only: a ChildReport if the exec fails, EOF if it succeeded
  bool terminal = false;  // stdin_w and stdout_r are a pty's master; stderr_r is not there
};

// Clones the init and waits (up to `timeout`) until it is set up and waiting for Start.
// A failed setup step is an error naming the step and errno; the child is gone then (the
// caller's reaper collects it). `on_pid(pid, true)` is called as soon as the pid exists.
// For an exec, `on_pid(pid, false)` also names the short-lived forking middle process,
// which the reaper should collect quietly.
// `cgroup_procs_fd` (an open cgroup.procs, or -1 for none) receives the process before it
// runs anything of its own.
using OnPid = std::function<void(pid_t pid, bool is_the_process)>;
absl::StatusOr<Launched> LaunchInit(InitPlan& plan, int cgroup_procs_fd, absl::Duration timeout, const OnPid& on_pid);

// Lets the init exec; an error names the step that failed (e.g. the executable missing).
absl::Status StartInit(Launched& init, absl::Duration timeout);

// Runs `plan` in the namespaces of `init_pid` (its PID namespace included).
absl::StatusOr<Launched> LaunchExec(pid_t init_pid, ExecPlan& plan, int cgroup_procs_fd, absl::Duration timeout,
                                    const OnPid& on_pid);

}  // namespace kata::guest
