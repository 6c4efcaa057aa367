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
#include "guest-agent/setup/init_plan.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

// The agent's ends of a new process's pipes, and its pid.
struct Launched {
  pid_t pid = -1;
  UniqueFd stdin_w, stdout_r, stderr_r;
  UniqueFd start_w;   // init only: one byte lets it exec
  UniqueFd status_r;  // init only: a ChildReport if the exec fails, EOF if it succeeded
  bool terminal = false;  // stdin_w and stdout_r are a pty's master; stderr_r is not there
  std::string program;    // process.args[0], named when its exec fails
};

// Clones the init and waits (up to `timeout`) until it is set up and waiting for Start.
// When the plan joins namespaces, a short-lived middle process joins them and clones the init
// (a joined PID namespace applies to children only); `on_pid(middle, false)` names it.
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
