#pragma once

// A containerd 1.6 of the test's own (config, root, state and socket under a temporary
// directory; the shim and kata-erofs-mount on its PATH), driven with ctr; whatever a failed
// test left running goes with it.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/test_support.h"

namespace kata::runtime::testing {

inline constexpr char kImage[] = "docker.io/library/kata-busybox:latest";

// Container ids unique to this run: runc keeps its state under /run/containerd/runc whatever
// containerd's own state dir is, so a run killed earlier must not collide with this one.
inline std::string Id(const std::string& name) { return name + "-" + std::to_string(::getpid()); }

using Result = kata::testing::CommandResult;
inline Result Run(const std::string& command) { return kata::testing::RunShell(command); }

// Processes whose command line contains `needle`.
inline int CountProcesses(const std::string& needle) {
  int n = 0;
  DIR* proc = ::opendir("/proc");
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto cmdline = kata::ReadFileToString(std::string("/proc/") + e->d_name + "/cmdline", 1 << 16);
    if (cmdline.ok() && cmdline->find(needle) != std::string::npos) ++n;
  }
  ::closedir(proc);
  return n;
}

struct PrivateContainerd {
  kata::testing::TempDir tmp;
  std::string sock = tmp.Sub("containerd.sock");
  std::string ctr = "ctr -a " + sock + " -n kata-test";
  std::unique_ptr<kata::testing::Daemon> daemon;

  // `extra_toml` is appended to containerd's config, `extra_hypervisor` (YAML lines indented
  // two spaces) to the runtime's hypervisor section; the busybox image is imported unless
  // `import_busybox` is false.
  explicit PrivateContainerd(const std::string& extra_toml = "", const std::string& extra_hypervisor = "",
                             bool import_busybox = true) {
    kata::testing::WriteFile(tmp.Sub("config.toml"), "version = 2\nroot = \"" + tmp.Sub("root") + "\"\nstate = \"" +
                                                         tmp.Sub("state") + "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                                                         "[grpc]\n  address = \"" + sock + "\"\n" + extra_toml);
    kata::testing::WriteFile(tmp.Sub("kata.yaml"), "hypervisor:\n  kernel: " + ImageDir() + "/vmlinux\n  initrd: " + ImageDir() +
                                                       "/kata-initrd.img\n  memory_mib: 512\n  accel: tcg\n" + extra_hypervisor + "runtime:\n  state_dir: " +
                                                       tmp.Sub("kata") + "\n");
    // containerd finds the shim on its PATH and hands the shim its environment.
    const std::string path = std::string(KATA_SHIM_DIR) + ":" + std::getenv("PATH");
    ::setenv("PATH", path.c_str(), 1);
    ::setenv("KATA_CONF_FILE", tmp.Sub("kata.yaml").c_str(), 1);
    StartDaemon("containerd.log");
    if (!import_busybox) return;
    const std::string tar = tmp.Sub("image.tar");
    REQUIRE(Run(std::string("python3 ") + KATA_TESTS_DIR + "/make_oci_image.py " + tar + " " + kImage).status == 0);
    const Result imported = Run(ctr + " image import " + tar);
    INFO(imported.out);
    REQUIRE(imported.status == 0);
  }

  void StartDaemon(const std::string& log) {
    daemon = std::make_unique<kata::testing::Daemon>(
        std::vector<std::string>{"/usr/bin/containerd", "--config", tmp.Sub("config.toml")}, tmp.Sub(log));
    daemon->WaitForPath(sock, 10000);
  }

  // containerd dies (SIGKILL: no chance to tidy) and comes back on the same root, state and
  // socket; the shims it started keep running meanwhile.
  void CrashAndRestart(int down_ms) {
    ::kill(daemon->pid(), SIGKILL);
    daemon->Stop();  // reaps it
    std::filesystem::remove(sock);
    ::usleep(down_ms * 1000);
    StartDaemon("containerd-restarted.log");
  }

  // Whatever a failed test left running goes: its tasks, and any process (shim, QEMU) that
  // names this instance's directory.
  ~PrivateContainerd() {
    for (const std::string& id : std::vector<std::string>(absl::StrSplit(Run(ctr + " task ls -q").out, '\n', absl::SkipEmpty()))) {
      Run(ctr + " task kill -s SIGKILL " + id);
      Run(ctr + " task delete -f " + id);
    }
    for (const std::string& id : std::vector<std::string>(absl::StrSplit(Run(ctr + " container ls -q").out, '\n', absl::SkipEmpty()))) {
      Run(ctr + " container delete " + id);
    }
    daemon.reset();
    DIR* proc = ::opendir("/proc");
    while (dirent* e = ::readdir(proc)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      auto cmdline = kata::ReadFileToString(std::string("/proc/") + e->d_name + "/cmdline", 1 << 16);
      if (cmdline.ok() && cmdline->find(tmp.path()) != std::string::npos) ::kill(std::atoi(e->d_name), SIGKILL);
    }
    ::closedir(proc);
  }

  // Waits up to 20 s for task `id` to show `status` in `ctr task ls`; its line.
  std::string AwaitTaskStatus(const std::string& id, const std::string& status) {
    std::string line;
    for (int i = 0; i < 200 && line.find(status) == std::string::npos; ++i, ::usleep(100 * 1000)) {
      line = Run(ctr + " task ls | grep " + id).out;
    }
    return line;
  }

  // ctr task delete, then ctr container delete: both must succeed.
  void DeleteTask(const std::string& id) {
    const Result deleted = Run("timeout 60 " + ctr + " task delete " + id);
    INFO(id << ": " << deleted.out);
    CHECK(deleted.status == 0);
    CHECK(Run(ctr + " container delete " + id).status == 0);
  }

  // Nothing of ours is left: no shim, no QEMU, no mount, no task, no sandbox state.
  void CheckClean() {
    for (int i = 0; i < 50 && (CountProcesses("containerd-shim-kata-v2") > 0 || CountProcesses("qemu-system") > 0); ++i) {
      ::usleep(100 * 1000);
    }
    CHECK(CountProcesses("containerd-shim-kata-v2") == 0);
    CHECK(CountProcesses("qemu-system") == 0);
    CHECK(Capture("grep -c ' " + tmp.Sub("state") + "' /proc/self/mountinfo").substr(0, 1) == "0");
    const Result tasks = Run(ctr + " task ls -q");
    CHECK(tasks.out.empty());
    CHECK((!std::filesystem::exists(tmp.Sub("kata")) || std::filesystem::is_empty(tmp.Sub("kata"))));
  }
};

#define KATA_REQUIRE_CONTAINERD()                                                            \
  do {                                                                                       \
    KATA_REQUIRE_VM();                                                                       \
    if (::access("/usr/bin/containerd", X_OK) != 0 || ::access("/usr/bin/ctr", X_OK) != 0) \
      KATA_SKIP("containerd and ctr are not installed");                                     \
  } while (0)

}  // namespace kata::runtime::testing
