#pragma once

// Reaps every child of the agent (PID 1 in the VM, or a child subreaper in tests) and tells
// the owner of each pid its exit status. SIGCHLD arrives on a signalfd; it must be blocked in
// every thread, so BlockSigchld() runs in main() before any thread starts.

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

// 0..255 for an exit, 128 + N for death by signal N: what a shell reports.
int ShellStatus(int wait_status);

class Reaper {
 public:
  static void BlockSigchld();
  static absl::StatusOr<std::unique_ptr<Reaper>> Start();
  ~Reaper();

  // Calls `on_exit(shell status)` once `pid` has exited, at once if it already has (a child
  // may die before its parent gets to register it). A watched child is reaped only after
  // `on_exit` returned: until then its pid cannot be reused.
  void Watch(pid_t pid, std::function<void(int)> on_exit) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Reaper(UniqueFd signal_fd, UniqueFd stop_fd);
  void Run();
  void ReapAll() ABSL_LOCKS_EXCLUDED(mu_);

  UniqueFd signal_fd_;
  UniqueFd stop_fd_;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<pid_t, std::function<void(int)>> watchers_ ABSL_GUARDED_BY(mu_);
  // Exits nobody watched yet, oldest first; bounded, since orphans reparented to PID 1 are
  // reaped here too and nobody ever asks for them.
  std::map<pid_t, int> unclaimed_ ABSL_GUARDED_BY(mu_);
  std::deque<pid_t> unclaimed_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kata::guest
