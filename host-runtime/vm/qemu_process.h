#pragma once

// A supervised QEMU process: started with its stderr to a file, watched through a pidfd so
// that its death is noticed at once (and reported with the tails of its stderr and of the
// guest console), stopped by kill + reap. Never leaves a zombie or a running QEMU behind.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libkata/base/unique_fd.h"

namespace kata::runtime {

class QemuProcess {
 public:
  struct Options {
    std::vector<std::string> argv;
    std::string stderr_log;   // QEMU's stdout and stderr go here
    std::string console_log;  // quoted when QEMU dies (the guest's last words)
    // Called once, from the watcher thread, if QEMU exits without Stop() having asked it to.
    std::function<void(const absl::Status& why)> on_unexpected_exit;
    bool exits_by_itself = false;  // a probe or a power-off guest: its exit is no error
    // fds QEMU inherits at the same numbers (taps, vhost-net); close-on-exec is cleared in
    // the child only, so no other child of the runtime gets them.
    std::vector<int> pass_fds;
  };

  static absl::StatusOr<std::unique_ptr<QemuProcess>> Start(Options options);
  ~QemuProcess();  // Stop()

  pid_t pid() const { return pid_; }
  bool running() const ABSL_LOCKS_EXCLUDED(mu_);
  // OK while running; after an exit, why it ended (exit code or signal, with the log tails).
  absl::Status exit_status() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until QEMU has exited, at most `timeout`; its exit status, or DeadlineExceeded.
  absl::Status WaitExit(absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_);

  // Kills QEMU (SIGKILL: the guest holds nothing the host needs) and reaps it. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  QemuProcess(Options options, pid_t pid, UniqueFd pidfd);
  void Watch();
  std::string Describe(int wait_status) const;

  Options options_;
  pid_t pid_;
  UniqueFd pidfd_;
  std::thread watcher_;
  mutable absl::Mutex mu_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status exit_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kata::runtime
