#include "host-runtime/vm/qemu_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

extern char** environ;

namespace kata::runtime {
namespace {

const log::Subsystem kLog("qemu");

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

absl::StatusOr<std::unique_ptr<QemuProcess>> QemuProcess::Start(Options options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("QEMU command line is empty");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, options.stderr_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // dup2 of an fd onto itself clears its FD_CLOEXEC in the child (POSIX 2024, glibc >= 2.29).
  for (int fd : options.pass_fds) posix_spawn_file_actions_adddup2(&actions, fd, fd);
  // Its own process group: a terminal's ^C reaches the runtime, which then stops QEMU itself.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<char*> argv;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, StrCat("start ", options.argv[0]));
  UniqueFd pidfd(PidfdOpen(pid));
  if (!pidfd.valid()) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return ErrnoStatus(err, StrCat("pidfd_open for QEMU pid ", pid));
  }
  kLog.Info("started", {{"pid", static_cast<int64_t>(pid)}, {"binary", options.argv[0]}});
  std::unique_ptr<QemuProcess> p(new QemuProcess(std::move(options), pid, std::move(pidfd)));
  p->watcher_ = std::thread([raw = p.get()] { raw->Watch(); });
  return p;
}

QemuProcess::QemuProcess(Options options, pid_t pid, UniqueFd pidfd)
    : options_(std::move(options)), pid_(pid), pidfd_(std::move(pidfd)) {}

QemuProcess::~QemuProcess() { Stop(); }

void QemuProcess::Watch() {
  pollfd fd = {pidfd_.get(), POLLIN, 0};
  while (::poll(&fd, 1, -1) < 0 && errno == EINTR) {
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  const absl::Status why = absl::UnavailableError(Describe(status));
  bool unexpected = false;
  {
    absl::MutexLock lock(&mu_);
    exited_ = true;
    exit_status_ = why;
    unexpected = !stopping_ && !options_.exits_by_itself;
  }
  if (unexpected) {
    kLog.Error("exited unexpectedly", {{"pid", static_cast<int64_t>(pid_)}, {"error", std::string(why.message())}});
    if (options_.on_unexpected_exit) options_.on_unexpected_exit(why);
  }
}

std::string QemuProcess::Describe(int status) const {
  std::string how = WIFEXITED(status) ? StrCat("exited with status ", WEXITSTATUS(status))
                                      : StrCat("was killed by signal ", WTERMSIG(status));
  std::string out = StrCat("QEMU (pid ", pid_, ") ", how);
  const std::string err = ReadFileTail(options_.stderr_log, 1024);
  if (!err.empty()) out += StrCat("; stderr: ", err);
  const std::string console = ReadFileTail(options_.console_log, 1536);
  if (!console.empty()) out += StrCat("; console: ", console);
  return out;
}

bool QemuProcess::running() const {
  absl::MutexLock lock(&mu_);
  return !exited_;
}

absl::Status QemuProcess::exit_status() const {
  absl::MutexLock lock(&mu_);
  return exit_status_;
}

absl::Status QemuProcess::WaitExit(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&exited_), timeout)) {
    return absl::DeadlineExceededError(StrCat("QEMU (pid ", pid_, ") still running after ", absl::FormatDuration(timeout)));
  }
  return exit_status_;
}

void QemuProcess::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // The pidfd names this process even if its pid were reused; killing through it is exact.
    if (!exited_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  }
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace kata::runtime
