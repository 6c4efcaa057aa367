#pragma once

// One process of a container (its init or an exec): pid, stdio pipes, exit status.

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

class Process {
 public:
  explicit Process(std::string exec_id) : exec_id_(std::move(exec_id)) {}

  // The agent's ends of the process's stdio, given once, before anyone reads or writes.
  // With `terminal`, stdin_w and stdout_r are a pty's master and there is no stderr.
  void AttachStdio(UniqueFd stdin_w, UniqueFd stdout_r, UniqueFd stderr_r, bool terminal = false)
      ABSL_LOCKS_EXCLUDED(io_mu_);

  const std::string& exec_id() const { return exec_id_; }
  void set_pid(pid_t pid) ABSL_LOCKS_EXCLUDED(mu_);
  pid_t pid() const ABSL_LOCKS_EXCLUDED(mu_);

  // From the reaper.
  void SetExited(int shell_status) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<int> exit_status() const ABSL_LOCKS_EXCLUDED(mu_);
  bool running() const { return !exit_status().has_value() && pid() > 0; }
  // Blocks until the process has exited (or `timeout`); the status stays for later waiters.
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::InfiniteDuration()) ABSL_LOCKS_EXCLUDED(mu_);

  // Sends a signal unless the process is gone (its pid may already be someone else's).
  absl::Status Signal(int sig) ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<size_t> WriteStdin(std::string_view data) ABSL_LOCKS_EXCLUDED(io_mu_);
  // On a terminal, closing stdin sends the EOF character (^D), as a user typing it would:
  // the pty itself stays, since it carries the output too.
  absl::Status CloseStdin() ABSL_LOCKS_EXCLUDED(io_mu_);
  // The terminal's window size (TIOCSWINSZ; the process gets SIGWINCH). FailedPrecondition
  // for a process without a terminal.
  absl::Status ResizeTerminal(uint32_t rows, uint32_t columns) ABSL_LOCKS_EXCLUDED(io_mu_);
  // Up to `max` bytes as soon as some are there; OutOfRange "EOF" once the pipe is drained
  // and every writer (the process and its children) is gone. Cancelled, reading nothing, once
  // `cancelled` says the caller gave up: output it did not wait for stays for the next read.
  using CancelCheck = std::function<bool()>;
  absl::StatusOr<std::string> ReadStdout(size_t max, const CancelCheck& cancelled = {}) {
    return Read(stdout_, stdout_done_, max, "stdout", cancelled);
  }
  absl::StatusOr<std::string> ReadStderr(size_t max, const CancelCheck& cancelled = {}) {
    return Read(stderr_, stderr_done_, max, "stderr", cancelled);
  }
  // Wakes blocked readers and closes every pipe (the container is going).
  void CloseAll() ABSL_LOCKS_EXCLUDED(io_mu_);

  // An exec's exit was reported to the host (WaitProcess returned it). From then on its
  // output ends where its pipes run dry, even if a background child still holds them open:
  // the host reads what the process wrote, and is not kept waiting for the child (as
  // containerd's runc shim stops copying an exec's output once it exited).
  void MarkWaited() ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<absl::Time> waited_at() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waited, and both outputs read to their end: nothing more can be asked of it.
  bool Finished() const { return waited_at().has_value() && stdout_done_ && stderr_done_; }

 private:
  absl::StatusOr<std::string> Read(UniqueFd& fd, std::atomic<bool>& done, size_t max, std::string_view name,
                                   const CancelCheck& cancelled);

  const std::string exec_id_;
  mutable absl::Mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = -1;
  std::optional<int> exit_status_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> waited_at_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> waited_{false};  // waited_at_ set: readers poll it without the lock

  absl::Mutex io_mu_;
  UniqueFd stdin_ ABSL_GUARDED_BY(io_mu_);
  UniqueFd stdout_;
  UniqueFd stderr_;
  bool terminal_ = false;  // set once in AttachStdio
  std::atomic<bool> closing_{false};
  std::atomic<bool> stdout_done_{false}, stderr_done_{false};  // read to EOF (or absent)
};

}  // namespace kata::guest
