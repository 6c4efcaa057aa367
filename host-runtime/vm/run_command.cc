#include "host-runtime/vm/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

extern char** environ;

namespace kata::runtime {

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                         size_t max_output, std::string_view input) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  if (input.size() > 65536) return absl::InvalidArgumentError("command input over 64 KiB");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  int in_fds[2];
  if (::pipe2(in_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd in_read(in_fds[0]), in_write(in_fds[1]);
  // Fits the pipe's buffer: written before the child runs, no risk of blocking on it.
  if (!input.empty() && ::write(in_write.get(), input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    return ErrnoStatus(errno, "write the command's input");
  }
  in_write.reset();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return ErrnoStatus(rc, StrCat("run ", argv[0]));
  write_end.reset();
  in_read.reset();

  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  for (;;) {
    const int wait_ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    pollfd p = {read_end.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      break;
    }
    char buf[65536];
    const ssize_t got = ::read(read_end.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (result.output.size() < max_output) {
      result.output.append(buf, std::min(static_cast<size_t>(got), max_output - result.output.size()));
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return absl::DeadlineExceededError(StrCat(argv[0], " did not finish within ", absl::FormatDuration(timeout)));
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace kata::runtime
