#include "guest-agent/process/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

void Process::AttachStdio(UniqueFd stdin_w, UniqueFd stdout_r, UniqueFd stderr_r, bool terminal) {
  absl::MutexLock lock(&io_mu_);
  terminal_ = terminal;
  stdin_ = std::move(stdin_w);
  stdout_ = std::move(stdout_r);
  stderr_ = std::move(stderr_r);
  stdout_done_ = !stdout_.valid();  // a terminal has no stderr: nothing to read to its end
  stderr_done_ = !stderr_.valid();
}

void Process::set_pid(pid_t pid) {
  absl::MutexLock lock(&mu_);
  pid_ = pid;
}

pid_t Process::pid() const {
  absl::MutexLock lock(&mu_);
  return pid_;
}

void Process::SetExited(int shell_status) {
  absl::MutexLock lock(&mu_);
  exit_status_ = shell_status;
}

std::optional<int> Process::exit_status() const {
  absl::MutexLock lock(&mu_);
  return exit_status_;
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return exit_status_.has_value(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&exited), timeout)) {
    return absl::DeadlineExceededError(StrCat("process ", exec_id_, " still running after ", absl::FormatDuration(timeout)));
  }
  return *exit_status_;
}

absl::Status Process::Signal(int sig) {
  absl::MutexLock lock(&mu_);
  if (exit_status_ || pid_ <= 0) {
    return absl::FailedPreconditionError(StrCat("process ", exec_id_, " is not running"));
  }
  // Under the lock: the reaper cannot mark it exited (and its pid be reused) meanwhile.
  if (::kill(pid_, sig) != 0) return ErrnoStatus(errno, StrCat("signal ", sig, " to process ", exec_id_));
  return absl::OkStatus();
}

absl::StatusOr<size_t> Process::WriteStdin(std::string_view data) {
  absl::MutexLock lock(&io_mu_);
  if (!stdin_.valid()) return absl::FailedPreconditionError(StrCat("stdin of ", exec_id_, " is closed"));
  RETURN_IF_ERROR(WriteAll(stdin_.get(), data, StrCat("stdin of ", exec_id_)));
  return data.size();
}

absl::Status Process::CloseStdin() {
  absl::MutexLock lock(&io_mu_);
  if (terminal_ && stdin_.valid()) {
    struct termios t;
    const char eof = ::tcgetattr(stdin_.get(), &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04';
    (void)WriteAll(stdin_.get(), std::string_view(&eof, 1), StrCat("terminal of ", exec_id_));
  }
  stdin_.reset();
  return absl::OkStatus();
}

absl::Status Process::ResizeTerminal(uint32_t rows, uint32_t columns) {
  absl::MutexLock lock(&io_mu_);
  if (!terminal_) return absl::FailedPreconditionError(StrCat("process ", exec_id_, " has no terminal"));
  if (rows > 0xffff || columns > 0xffff) {  // struct winsize holds 16 bits each
    return absl::InvalidArgumentError(StrCat("terminal size ", rows, "x", columns, " of ", exec_id_, ": at most 65535 each"));
  }
  if (!stdout_.valid()) return absl::FailedPreconditionError(StrCat("terminal of ", exec_id_, " is closed"));
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(columns);
  if (::ioctl(stdout_.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus(errno, StrCat("resize the terminal of ", exec_id_));
  return absl::OkStatus();
}

void Process::CloseAll() {
  closing_ = true;
  absl::MutexLock lock(&io_mu_);
  stdin_.reset();
  // stdout/stderr are closed by the destructor, once no reader can be inside Read().
}

void Process::MarkWaited() {
  absl::MutexLock lock(&mu_);
  if (!waited_at_) waited_at_ = absl::Now();
  waited_ = true;
}

std::optional<absl::Time> Process::waited_at() const {
  absl::MutexLock lock(&mu_);
  return waited_at_;
}

absl::StatusOr<std::string> Process::Read(UniqueFd& fd, std::atomic<bool>& done, size_t max, std::string_view name,
                                          const CancelCheck& cancelled) {
  auto end = [&done] {
    done = true;
    return absl::OutOfRangeError("EOF");
  };
  if (!fd.valid()) return end();  // a terminal's process has no stderr
  if (max == 0) max = 64 * 1024;
  max = std::min<size_t>(max, 1 << 20);
  std::string buf(max, '\0');
  pollfd p{fd.get(), POLLIN, 0};
  for (;;) {
    if (closing_) return absl::CancelledError(StrCat(name, " of ", exec_id_, " closed: the container is going"));
    const bool drain = waited_;  // read before the poll: output written before the exit is in the pipe by now
    const int r = ::poll(&p, 1, drain ? 0 : 200);  // wake now and then to notice CloseAll and the wait
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, StrCat("poll ", name, " of ", exec_id_));
    if (cancelled && cancelled()) return absl::CancelledError(StrCat("read of ", name, " of ", exec_id_, " given up"));
    if (r == 0 && drain) return end();  // dry, and only a background child could still write
    if (r <= 0) continue;
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == EIO && terminal_) return end();  // a pty master once the slave side is gone
      return ErrnoStatus(errno, StrCat("read ", name, " of ", exec_id_));
    }
    if (n == 0) return end();
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
}

}  // namespace kata::guest
