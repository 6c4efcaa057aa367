#include "libkata/testing/test_support.h"

#include <cstdio>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "libkata/mount/mountinfo.h"

namespace kata::testing {
namespace {

std::mutex skips_mu;
std::vector<std::pair<std::string, std::string>> skips;

}  // namespace

void RecordSkip(std::string_view reason) {
  std::lock_guard<std::mutex> lock(skips_mu);
  skips.emplace_back(Catch::getResultCapture().getCurrentTestName(), std::string(reason));
}

bool SkipsAreFailures() {
  const char* v = std::getenv("KATA_TEST_NO_SKIP");
  return v != nullptr && std::string_view(v) == "1";
}

std::vector<std::pair<std::string, std::string>> TakeSkips() {
  std::lock_guard<std::mutex> lock(skips_mu);
  return skips;
}

bool HaveMountPrivileges() {
  if (::geteuid() != 0) return false;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[0].effective & (1u << CAP_SYS_ADMIN)) != 0;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kata-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  REQUIRE(made != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  // Unmount leftovers innermost first, so removal cannot descend into a mounted filesystem.
  if (auto mounts = kata::mount::ListMountsUnder(path_); mounts.ok()) {
    std::vector<std::string> targets;
    for (const auto& m : *mounts) targets.push_back(m.target);
    std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& t : targets) ::umount2(t.c_str(), MNT_DETACH);
  }
  ::nftw(
      path_.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        ::remove(p);  // best effort: keep removing the rest
        return 0;
      },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

Daemon::Daemon(std::vector<std::string> argv, const std::string& log_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) ::dup2(fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

void Daemon::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void Daemon::WaitForPath(const std::string& path, int timeout_ms) const {
  for (int waited = 0; waited < timeout_ms && ::access(path.c_str(), F_OK) != 0; waited += 10) ::usleep(10000);
  INFO(path << " did not appear within " << timeout_ms << " ms");
  REQUIRE(::access(path.c_str(), F_OK) == 0);
}

void MakeBusyboxRootfs(const std::string& dir) {
  for (const char* d : {"bin", "proc", "dev", "tmp", "etc", "sys"}) MakeDirs(dir + "/" + d);
  std::filesystem::copy_file("/bin/busybox", dir + "/bin/busybox");
  for (const char* applet : {"sh", "echo", "cat", "ps", "sleep", "hostname", "ls", "true", "id", "wc"}) {
    std::filesystem::create_symlink("busybox", dir + "/bin/" + applet);
  }
}

void MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  INFO(path << ": " << ec.message());
  REQUIRE_FALSE(ec);
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out.good());
  out << content;
  REQUIRE(out.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace kata::testing
