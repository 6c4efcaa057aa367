#include "guest-agent/sandbox/agent_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// "VmRSS:     1234 kB" -> 1234 * 1024, from /proc/<pid>/status.
uint64_t StatusKb(const std::string& status, std::string_view key) {
  const size_t at = status.find(StrCat("\n", key, ":"));
  if (at == std::string::npos) return 0;
  const size_t start = at + key.size() + 2;
  const size_t end = status.find('\n', start);
  absl::string_view value(status.data() + start, (end == std::string::npos ? status.size() : end) - start);
  value = absl::StripAsciiWhitespace(value);
  absl::ConsumeSuffix(&value, "kB");
  uint64_t n = 0;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &n) ? n : 0;
}

}  // namespace

AgentProcessStats ReadAgentProcessStats(pid_t pid) {
  const std::string proc = pid == 0 ? std::string("/proc/self") : StrCat("/proc/", pid);
  AgentProcessStats s;
  if (DIR* d = ::opendir((proc + "/fd").c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++s.open_fds;
    }
    ::closedir(d);
    if (pid == 0 && s.open_fds > 0) --s.open_fds;  // the directory being listed
  }
  if (auto status = ReadFileToString(proc + "/status", 1 << 16); status.ok()) {
    const std::string text = "\n" + *status;
    s.resident_memory_bytes = StatusKb(text, "VmRSS") * 1024;
    s.threads = StatusKb(text, "Threads");
  }
  struct rlimit rl {};
  if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &rl) == 0) s.max_fds = rl.rlim_cur;
  return s;
}

std::string FormatAgentMetrics(const AgentProcessStats& s) {
  std::string out;
  auto gauge = [&out](std::string_view name, std::string_view help, uint64_t value) {
    out += StrCat("# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name, " ", value, "\n");
  };
  gauge("kata_agent_process_open_fds", "Number of open file descriptors.", s.open_fds);
  gauge("kata_agent_process_max_fds", "Maximum number of open file descriptors.", s.max_fds);
  gauge("kata_agent_process_resident_memory_bytes", "Resident memory size in bytes.", s.resident_memory_bytes);
  gauge("kata_agent_process_threads", "Number of threads.", s.threads);
  gauge("kata_agent_containers", "Containers in the sandbox.", s.containers);
  return out;
}

uint64_t RaiseOpenFileLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  uint64_t nr_open = 0;
  if (auto text = ReadFileToString("/proc/sys/fs/nr_open", 64); text.ok()) {
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &nr_open);
  }
  struct rlimit want = rl;
  if (nr_open > rl.rlim_max) want.rlim_max = nr_open;  // needs CAP_SYS_RESOURCE; else the hard limit stays
  want.rlim_cur = want.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
    want = rl;
    want.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &want);
  }
  return ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
}

}  // namespace kata::guest
