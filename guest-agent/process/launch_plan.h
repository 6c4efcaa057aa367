#pragma once

// Everything a new container process needs, decided in the agent before clone/fork: the
// child of a multi-threaded process may only make syscalls (no malloc, no locks), so every
// string, number and array is ready here.

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "guest-agent/seccomp/seccomp_program.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

struct CapabilitySets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// How to become the container's process and exec it.
struct ExecPlan {
  std::vector<std::string> argv_storage, env_storage, candidates_storage;
  std::vector<char*> argv, envp, candidates;  // NULL-terminated views of the storage above
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::pair<int, rlimit>> rlimits;
  bool no_new_privileges = false;
  mode_t umask = 022;  // process.user.umask, else runc's 0022
  CapabilitySets caps;
  int oom_score_adj = 0;
  bool set_oom_score_adj = false;
  // process.terminal: stdio is a new pty's slave, which becomes the controlling terminal of
  // a new session.
  bool terminal = false;
  uint16_t console_rows = 0, console_columns = 0;  // process.consoleSize: the pty's first size
  // linux.seccomp, compiled; the container's execs load it too (as under runc).
  SeccompProgram seccomp;

  ExecPlan() = default;
  ExecPlan(const ExecPlan&) = delete;  // the char* views point into this object
  ExecPlan& operator=(const ExecPlan&) = delete;
};

// Builds the plan from an OCI process. Unknown capability or rlimit names, an empty args
// list or a relative cwd are InvalidArgument naming them. The executable's candidates are
// execvp's search decided in advance: args[0] itself if it holds a slash, else each
// directory of the process's PATH (or the default PATH), tried in order in the child.
// Without HOME in env, `home` (the user's home from the image's /etc/passwd, else "/") is
// added, as runc does.
absl::Status BuildExecPlan(const oci::Process& process, ExecPlan& plan, const std::string& home = "/");

// The home directory of `uid` in an /etc/passwd text; "" when it has no line for it.
std::string HomeFromPasswd(const std::string& passwd, uid_t uid);

// Capability name ("CAP_SYS_ADMIN" or "sys_admin") -> number.
absl::StatusOr<int> CapabilityNumber(const std::string& name);
// RLIMIT_* name -> resource number, and back.
absl::StatusOr<int> RlimitResource(const std::string& name);
std::string RlimitName(int resource);

}  // namespace kata::guest
