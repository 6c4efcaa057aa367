#pragma once

// What runs in a freshly cloned/forked child of the agent. The agent is multi-threaded, so
// these functions make syscalls only: no allocation, no locks, no logging, and no glibc
// wrapper that coordinates threads (setuid and friends go through syscall(2)). A failed step is
// reported to the parent as a ChildReport on `status_fd`, then the child exits.

#include <cstdint>

#include "guest-agent/process/launch_plan.h"

namespace kata::guest {

enum ChildStep : int32_t {
  kStepReady = 0,  // not a failure: the container init is set up and waits for Start
  kStepMountPrivate, kStepBindRootfs, kStepMount, kStepMask, kStepReadonly, kStepHostname,
  kStepPivotRoot, kStepWaitStart, kStepSetns, kStepFork, kStepStdio, kStepOomScore, kStepRlimit,
  kStepBounding, kStepGroups, kStepGid, kStepUid, kStepCapabilities, kStepAmbient,
  kStepNoNewPrivs, kStepCwd, kStepExec, kStepTerminal, kStepCgroupns, kStepCgroupJoin,
  kStepJoinNamespace, kStepLoopback, kStepDevice, kStepSymlink, kStepConsole, kStepMakeCwd,
  kStepReadonlyRoot, kStepDomainname, kStepSysctl, kStepOpenRoot, kStepSeccomp,
};

struct ChildReport {
  int32_t step;
  int32_t err;    // errno
  int32_t index;  // which item of the step's list failed (mount, device, sysctl...), or -1
};

const char* ChildStepName(int32_t step);

// Reports a failed step (and the index of the item it was at) and exits with 127.
[[noreturn]] void ChildFail(int status_fd, int32_t step, int err, int32_t index = -1) noexcept;

// Blocks until one byte arrives on `fd` (retrying EINTR); false on EOF or error: the agent
// went away or gave up, and the child must not go on.
bool ChildAwaitByte(int fd) noexcept;

// Closes every fd from 3 up except the `n` in `keep`: a child that waits (the init, until
// Start) must not hold the agent's other fds, such as another container's status pipe,
// whose EOF that container's Start waits for. 0 on success, else errno.
int ChildCloseFdsExcept(const int* keep, int n) noexcept;

// Sets up stdio, credentials, limits and capabilities from `plan`, then execs the first
// candidate that exists. Returns only by ChildFail.
[[noreturn]] void ChildBecomeProcess(const ExecPlan& plan, int status_fd, int stdin_fd, int stdout_fd,
                                     int stderr_fd) noexcept;

}  // namespace kata::guest
