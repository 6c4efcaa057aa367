// The reaper for real: children of this test process, reaped through its signalfd.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "guest-agent/process/reaper.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;

namespace {

std::unique_ptr<Reaper> StartReaper() {
  Reaper::BlockSigchld();  // before the reaper's thread: it inherits the mask
  auto r = Reaper::Start();
  REQUIRE(r.ok());
  return std::move(*r);
}

pid_t ForkExiting(int code, bool wait_for_byte, int* release_fd) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[1]);
    char b;
    if (wait_for_byte) (void)!::read(p[0], &b, 1);
    ::_exit(code);
  }
  ::close(p[0]);
  *release_fd = p[1];
  return pid;
}

}  // namespace

// Issue 14: the reaper reaped first and told the owner afterwards; meanwhile the owner still
// believed the pid running and could signal whichever process got the pid next.
TEST_CASE("reaper: the owner hears of an exit while the pid is still a zombie", "[reaper]") {
  auto reaper = StartReaper();
  int release = -1;
  const pid_t pid = ForkExiting(7, true, &release);
  absl::Notification told;
  std::atomic<char> state{'?'};
  std::atomic<int> status{-1};
  reaper->Watch(pid, [&](int s) {
    auto stat = kata::ReadFileToString(kata::StrCat("/proc/", pid, "/stat"), 4096);
    // "pid (comm) S ...": the state letter follows the last ')'.
    if (stat.ok() && stat->rfind(')') != std::string::npos) state = (*stat)[stat->rfind(')') + 2];
    status = s;
    told.Notify();
  });
  ::close(release);
  REQUIRE(told.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(state.load() == 'Z');
  CHECK(status.load() == 7);
  // And it is reaped right after.
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  CHECK(::kill(pid, 0) == -1);
}

TEST_CASE("reaper: an exit before the watch is kept for it; death by signal is 128+N", "[reaper]") {
  auto reaper = StartReaper();
  int release = -1;
  const pid_t early = ForkExiting(3, false, &release);
  ::close(release);
  for (int i = 0; i < 200 && ::kill(early, 0) == 0; ++i) absl::SleepFor(absl::Milliseconds(10));  // reaped, unclaimed
  absl::Notification got_early;
  std::atomic<int> early_status{-1};
  reaper->Watch(early, [&](int s) { early_status = s; got_early.Notify(); });
  REQUIRE(got_early.WaitForNotificationWithTimeout(absl::Seconds(5)));
  CHECK(early_status.load() == 3);

  const pid_t killed = ForkExiting(0, true, &release);
  absl::Notification got_killed;
  std::atomic<int> killed_status{-1};
  reaper->Watch(killed, [&](int s) { killed_status = s; got_killed.Notify(); });
  ::kill(killed, SIGKILL);
  REQUIRE(got_killed.WaitForNotificationWithTimeout(absl::Seconds(5)));
  CHECK(killed_status.load() == 128 + SIGKILL);
  ::close(release);
}
