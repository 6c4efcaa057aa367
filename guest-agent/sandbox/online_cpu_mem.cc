#include "guest-agent/sandbox/online_cpu_mem.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

// Entries named PREFIX<digits> in `dir`, in numeric order (cpu2 before cpu10).
absl::StatusOr<std::vector<std::string>> NumberedEntries(const std::string& dir, absl::string_view prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, StrCat("opendir ", dir));
  std::vector<std::pair<uint64_t, std::string>> found;
  while (const dirent* e = ::readdir(d)) {
    const absl::string_view name = e->d_name;
    uint64_t n = 0;
    if (!absl::StartsWith(name, prefix) || name.size() == prefix.size()) continue;
    const absl::string_view digits = name.substr(prefix.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); }) &&
        absl::SimpleAtoi(digits, &n)) {
      found.emplace_back(n, std::string(name.data(), name.size()));
    }
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [n, name] : found) out.push_back(std::move(name));
  return out;
}

// Writes `value` to `path` when it holds `from`. Whether it did.
absl::StatusOr<bool> Flip(const std::string& path, absl::string_view from, absl::string_view value) {
  auto now = ReadFileToString(path, 64);
  if (!now.ok()) return absl::IsNotFound(now.status()) ? absl::StatusOr<bool>(false) : now.status();
  if (absl::StripAsciiWhitespace(*now) != from) return false;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));  // as echo does; sysfs ignores the truncation
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open ", path));
  RETURN_IF_ERROR(WriteAll(fd.get(), std::string_view(value.data(), value.size()), path));
  return true;
}

// The number of CPUs in a list such as "0-3,8" (cpu/possible).
absl::StatusOr<uint32_t> CountCpuList(absl::string_view list) {
  uint32_t n = 0;
  for (absl::string_view range : absl::StrSplit(absl::StripAsciiWhitespace(list), ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> ends = absl::StrSplit(range, '-');
    uint32_t lo = 0, hi = 0;
    if (ends.size() > 2 || !absl::SimpleAtoi(ends.front(), &lo) || !absl::SimpleAtoi(ends.back(), &hi) || hi < lo) {
      return absl::InvalidArgumentError(StrCat("CPU list \"", list, "\" is not a list of ranges"));
    }
    n += hi - lo + 1;
  }
  return n;
}

// Writes `to` to at most `max_cpus` cpuN/online files holding `from`, lowest-numbered first
// or highest first. How many it changed.
absl::StatusOr<uint32_t> FlipCpus(const std::string& system_dir, uint32_t max_cpus, absl::string_view from,
                                  absl::string_view to, bool highest_first) {
  const std::string dir = system_dir + "/cpu";
  ASSIGN_OR_RETURN(std::vector<std::string> cpus, NumberedEntries(dir, "cpu"));
  if (highest_first) std::reverse(cpus.begin(), cpus.end());
  uint32_t flipped = 0;
  for (const std::string& cpu : cpus) {
    if (flipped == max_cpus) break;
    ASSIGN_OR_RETURN(bool did, Flip(StrCat(dir, "/", cpu, "/online"), from, to));
    flipped += did;
  }
  return flipped;
}

}  // namespace

absl::StatusOr<uint32_t> OnlineOfflineCpus(const std::string& system_dir, uint32_t max_cpus) {
  return FlipCpus(system_dir, max_cpus, "0", "1", false);
}

absl::StatusOr<uint32_t> OfflineOnlineCpus(const std::string& system_dir, uint32_t max_cpus) {
  return FlipCpus(system_dir, max_cpus, "1", "0", true);
}

absl::StatusOr<uint32_t> OnlineOfflineMemory(const std::string& system_dir) {
  const std::string dir = system_dir + "/memory";
  ASSIGN_OR_RETURN(std::vector<std::string> blocks, NumberedEntries(dir, "memory"));
  uint32_t onlined = 0;
  for (const std::string& block : blocks) {
    ASSIGN_OR_RETURN(bool flipped, Flip(StrCat(dir, "/", block, "/state"), "offline", "online"));
    onlined += flipped;
  }
  return onlined;
}

absl::StatusOr<OnlinedResources> OnlineCpuMem(const agent::OnlineCPUMemRequest& req, const std::string& system_dir,
                                              absl::Duration timeout) {
  OnlinedResources done;
  if (req.nb_cpus() > 0 && req.offline_cpus() > 0) {
    return absl::InvalidArgumentError(StrCat("nb_cpus ", req.nb_cpus(), " and offline_cpus ", req.offline_cpus(),
                                             ": CPUs go online or offline, not both"));
  }
  if (req.offline_cpus() > 0) {
    ASSIGN_OR_RETURN(done.offlined_cpus, OfflineOnlineCpus(system_dir, req.offline_cpus()));
    if (done.offlined_cpus < req.offline_cpus()) {
      return absl::FailedPreconditionError(StrCat("offline_cpus ", req.offline_cpus(), ": only ", done.offlined_cpus,
                                                  " CPUs could go offline"));
    }
  }
  if (req.nb_cpus() > 0) {
    ASSIGN_OR_RETURN(std::string possible, ReadFileToString(system_dir + "/cpu/possible", 4096));
    ASSIGN_OR_RETURN(uint32_t most, CountCpuList(possible));
    if (req.nb_cpus() >= most) {
      return absl::InvalidArgumentError(StrCat("nb_cpus ", req.nb_cpus(), ": this guest can have ", most,
                                               " CPUs, one of which is always online"));
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      ASSIGN_OR_RETURN(uint32_t n, OnlineOfflineCpus(system_dir, req.nb_cpus() - done.cpus));
      done.cpus += n;
      if (done.cpus == req.nb_cpus()) break;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(StrCat("nb_cpus ", req.nb_cpus(), ": ", done.cpus, " CPUs came online within ",
                                                  absl::FormatDuration(timeout)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (!req.cpu_only()) {
    ASSIGN_OR_RETURN(done.memory_blocks, OnlineOfflineMemory(system_dir));
  }
  return done;
}

}  // namespace kata::guest
