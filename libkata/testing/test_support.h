#pragma once

// Helpers shared by every Catch2 test binary of the project (linked with test_main.cc).

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace kata::testing {

// Records a skipped test with its reason; the test main lists every skip at the end and,
// when KATA_TEST_NO_SKIP=1 (CI, which runs as root with every feature), fails instead.
void RecordSkip(std::string_view reason);
bool SkipsAreFailures();

// True when running as root with CAP_SYS_ADMIN in the initial user namespace (enough to
// mount, attach loop devices and create device nodes).
bool HaveMountPrivileges();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when it goes.
// Anything still mounted below it is lazily unmounted first, so a failed test leaves nothing.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(std::string_view rel) const { return path_ + "/" + std::string(rel); }

 private:
  std::string path_;
};

// mkdir -p; REQUIREs success.
void MakeDirs(const std::string& path);

// A daemon started for a test (argv[0] is its path), stderr to `log_path`; stopped with
// SIGTERM and reaped when it goes.
class Daemon {
 public:
  Daemon(std::vector<std::string> argv, const std::string& log_path);
  ~Daemon() { Stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  void Stop();
  int pid() const { return pid_; }
  // REQUIREs that `path` (the daemon's socket) appears within `timeout_ms`.
  void WaitForPath(const std::string& path, int timeout_ms = 5000) const;

 private:
  int pid_ = -1;
};

// A rootfs of busybox-static at `dir`: bin/ with the applets as links, and empty proc, dev,
// tmp, etc, sys.
void MakeBusyboxRootfs(const std::string& dir);

// Writes `content` to `path` (creating or truncating it); REQUIREs success.
void WriteFile(const std::string& path, std::string_view content);
std::string ReadFile(const std::string& path);
// What a shell command prints on stdout (empty when it cannot run).
std::string Capture(const std::string& command);

// A shell command's stdout and stderr together, and its exit status (-1: killed by a signal).
struct CommandResult {
  std::string out;
  int status = -1;
};
CommandResult RunShell(const std::string& command);

}  // namespace kata::testing

// Skips the current test with a message (or fails it under KATA_TEST_NO_SKIP=1).
#define KATA_SKIP(reason)                                          \
  do {                                                             \
    const std::string kata_skip_reason_ = (reason);                \
    if (::kata::testing::SkipsAreFailures()) {                     \
      FAIL("test needs what is missing here: " << kata_skip_reason_); \
    }                                                              \
    ::kata::testing::RecordSkip(kata_skip_reason_);                \
    WARN("SKIPPED: " << kata_skip_reason_);                        \
    return;                                                        \
  } while (0)

#define KATA_REQUIRE_ROOT()                                                     \
  do {                                                                          \
    if (!::kata::testing::HaveMountPrivileges()) KATA_SKIP("needs root (CAP_SYS_ADMIN)"); \
  } while (0)
