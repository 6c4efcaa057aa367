#include "guest-agent/process/reaper.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "libkata/base/errno_status.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("reaper");
constexpr size_t kMaxUnclaimed = 1024;
}  // namespace

int ShellStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

void Reaper::BlockSigchld() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<Reaper>> Reaper::Start() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd.valid()) return ErrnoStatus(errno, "signalfd for SIGCHLD");
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(errno, "eventfd for the reaper");
  std::unique_ptr<Reaper> r(new Reaper(std::move(sfd), std::move(stop)));
  r->thread_ = std::thread([raw = r.get()] { raw->Run(); });
  return r;
}

Reaper::Reaper(UniqueFd signal_fd, UniqueFd stop_fd) : signal_fd_(std::move(signal_fd)), stop_fd_(std::move(stop_fd)) {}

Reaper::~Reaper() {
  const uint64_t one = 1;
  (void)!::write(stop_fd_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void Reaper::Watch(pid_t pid, std::function<void(int)> on_exit) {
  std::optional<int> already;
  {
    absl::MutexLock lock(&mu_);
    auto it = unclaimed_.find(pid);
    if (it == unclaimed_.end()) {
      watchers_[pid] = std::move(on_exit);
      return;
    }
    already = it->second;
    unclaimed_.erase(it);
  }
  on_exit(*already);
}

void Reaper::ReapAll() {
  for (;;) {
    // Peek first (WNOWAIT): the exited child stays a zombie, its pid taken, until its owner
    // has marked it exited. Process::Signal checks that mark under the same lock it sends
    // with, so a signal can never reach another process that got the pid after the reap.
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 || info.si_pid == 0) return;
    const pid_t pid = info.si_pid;
    int status = 0;
    std::function<void(int)> cb;
    {
      absl::MutexLock lock(&mu_);
      auto it = watchers_.find(pid);
      if (it != watchers_.end()) {
        cb = std::move(it->second);
        watchers_.erase(it);
      }
    }
    const int shell_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    if (cb) cb(shell_status);
    if (::waitpid(pid, &status, WNOHANG | __WALL) != pid) continue;
    if (cb) continue;
    {
      absl::MutexLock lock(&mu_);
      auto it = watchers_.find(pid);  // registered while we reaped
      if (it != watchers_.end()) {
        cb = std::move(it->second);
        watchers_.erase(it);
      } else {
        // Nobody watched it yet (a child may die before its parent registers it), or nobody
        // ever will (orphans reparented to PID 1): kept for a while, oldest dropped first.
        unclaimed_[pid] = ShellStatus(status);
        unclaimed_order_.push_back(pid);
        while (unclaimed_order_.size() > kMaxUnclaimed) {
          unclaimed_.erase(unclaimed_order_.front());
          unclaimed_order_.pop_front();
        }
      }
    }
    if (cb) cb(ShellStatus(status));
  }
}

void Reaper::Run() {
  pollfd fds[2] = {{signal_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      kLog.Error("reaper poll failed", {{"errno", errno}});
      return;
    }
    if (fds[1].revents) return;
    signalfd_siginfo info;
    while (::read(signal_fd_.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
    }
    ReapAll();  // SIGCHLDs coalesce: always reap everything that is ready
  }
}

}  // namespace kata::guest
