// The launcher for real (root): container inits cloned from a busy multi-threaded process.

#include <sched.h>
#include <poll.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "guest-agent/process/launcher.h"
#include "libkata/base/str_cat.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace oci = kata::oci;

TEST_CASE("launcher: inits cloned while other threads come and go never hang", "[launcher][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  const std::string rootfs = tmp.Sub("rootfs");
  kata::testing::MakeBusyboxRootfs(rootfs);
  // Threads starting and ending all the time hold glibc's thread-list lock at random moments:
  // a child cloned then must not need that lock (glibc's setuid wrappers do).
  std::atomic<bool> stop{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < 2; ++t) {
    churn.emplace_back([&stop] {
      while (!stop) std::thread([] {}).join();
    });
  }
  int launched = 0;
  for (int i = 0; i < 60; ++i) {
    oci::Process process;
    process.add_args("/bin/true");
    process.set_cwd("/");
    process.mutable_user()->set_uid(0);
    process.mutable_user()->set_gid(0);
    InitPlan plan;
    REQUIRE(BuildExecPlan(process, plan.exec).ok());
    plan.rootfs = rootfs;
    plan.clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
    pid_t pid = -1;
    auto l = LaunchInit(plan, -1, absl::Seconds(5), [&pid](pid_t p, bool) { pid = p; });
    INFO("launch " << i << ": " << l.status());
    REQUIRE(l.ok());
    const absl::Status started = StartInit(*l, absl::Seconds(5));
    if (!started.ok()) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO("start " << i << ": " << started);
    REQUIRE(started.ok());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    ++launched;
  }
  stop = true;
  for (auto& t : churn) t.join();
  CHECK(launched == 60);
}

// Issue 14: a created init waited for Start holding a copy of every fd the agent had open,
// another container's status pipe among them, so that container's Start never saw EOF.
TEST_CASE("launcher: a created init holds none of the agent's fds", "[launcher][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  const std::string rootfs = tmp.Sub("rootfs");
  kata::testing::MakeBusyboxRootfs(rootfs);
  // Stands for another container's status pipe: open in the agent while this init is made,
  // without O_CLOEXEC, as a careless open would leave it.
  int other[2];
  REQUIRE(::pipe(other) == 0);
  oci::Process process;
  process.add_args("/bin/true");
  process.set_cwd("/");
  InitPlan plan;
  REQUIRE(BuildExecPlan(process, plan.exec).ok());
  plan.rootfs = rootfs;
  plan.clone_flags = CLONE_NEWNS | CLONE_NEWPID;
  pid_t pid = -1;
  auto l = LaunchInit(plan, -1, absl::Seconds(5), [&pid](pid_t p, bool) { pid = p; });
  REQUIRE(l.ok());
  struct Reap {  // the waiting init goes whatever the checks below say
    pid_t& pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};
  // The other container's write end closes in the agent: its reader must see EOF at once.
  ::close(other[1]);
  pollfd p{other[0], POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  char byte;
  CHECK(::read(other[0], &byte, 1) == 0);
  // What the waiting init holds: its stdio, start and status pipes, and the agent's 0-2.
  int held = 0;
  for (const auto& e : std::filesystem::directory_iterator(kata::StrCat("/proc/", pid, "/fd"))) {
    (void)e;
    ++held;
  }
  CHECK(held <= 3 + 6);
  ::close(other[0]);
}
