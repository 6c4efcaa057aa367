#include "guest-agent/cgroup/container_cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "guest-agent/cgroup/cgroup_stats.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

bool OnCgroup2(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// One write(2) per value: the kernel parses each write as one command.
absl::Status WriteInterfaceFile(const std::string& dir, const std::string& file, const std::string& value) {
  const std::string path = StrCat(dir, "/", file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::FailedPreconditionError(StrCat(path, ": no such file (is the ", file.substr(0, file.find('.')),
                                                  " controller enabled?)"));
    }
    return ErrnoStatus(err, StrCat("open ", path));
  }
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoStatus(errno, StrCat("write \"", value, "\" to ", path));
  }
  return absl::OkStatus();
}

// "+cpu +memory ..." for every controller `dir` offers.
absl::Status EnableControllers(const std::string& dir) {
  auto offered = ReadFileToString(StrCat(dir, "/cgroup.controllers"), 4096);
  if (!offered.ok()) return offered.status();
  for (absl::string_view c : absl::StrSplit(*offered, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    RETURN_IF_ERROR(WriteInterfaceFile(dir, "cgroup.subtree_control", StrCat("+", ToStd(c))));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ContainerCgroup::Apply(const CgroupPlan& plan) const {
  std::vector<std::pair<std::string, std::string>> before;  // file, old content
  for (const CgroupWrite& w : plan.writes) {
    if (w.skip_if_absent && ::access(StrCat(path_, "/", w.file).c_str(), F_OK) != 0 && errno == ENOENT) continue;
    auto old = ReadFileToString(StrCat(path_, "/", w.file), 1 << 16);
    absl::Status s = WriteInterfaceFile(path_, w.file, w.value);
    if (s.ok()) {
      if (old.ok()) before.emplace_back(w.file, *old);
      continue;
    }
    // Put back what was there, newest first; per line, as multi-line files (io.max) take one
    // line per write.
    for (auto it = before.rbegin(); it != before.rend(); ++it) {
      for (absl::string_view line : absl::StrSplit(it->second, '\n', absl::SkipEmpty())) {
        (void)WriteInterfaceFile(path_, it->first, std::string(ToStd(line)));
      }
    }
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ContainerCgroup::OpenProcs() const {
  const std::string path = StrCat(path_, "/cgroup.procs");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open ", path));
  return fd;
}

absl::StatusOr<agent::CgroupStats> ContainerCgroup::Stats() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("cgroup ", path_));
  return CgroupStatsFromFiles([this](std::string_view file) -> std::optional<std::string> {
    auto text = ReadFileToString(StrCat(path_, "/", file), 1 << 20);
    if (!text.ok()) return std::nullopt;
    return *std::move(text);
  });
}

absl::Status ContainerCgroup::Freeze(bool frozen) const {
  RETURN_IF_ERROR(WriteInterfaceFile(path_, "cgroup.freeze", frozen ? "1" : "0"));
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 100; ++i) {
    auto events = ReadFileToString(StrCat(path_, "/cgroup.events"), 4096);
    if (events.ok() && events->find(want) != std::string::npos) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(StrCat(path_, ": not ", frozen ? "frozen" : "thawed", " after 1s"));
}

absl::Status ContainerCgroup::Remove() const {
  if (path_.empty()) return absl::OkStatus();
  if (::access(path_.c_str(), F_OK) != 0) return absl::OkStatus();
  (void)WriteInterfaceFile(path_, "cgroup.kill", "1");  // kills frozen processes too  // Linux >= 5.14; older: the PID namespace's end did it
  // rmdir is EBUSY until the killed processes have left; they do within milliseconds.
  for (int i = 0; i < 100; ++i) {
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ErrnoStatus(errno, StrCat("remove cgroup ", path_));
}

absl::StatusOr<CgroupRoot> CgroupRoot::Prepare(const std::string& dir) {
  if (dir.empty() || dir.front() != '/' || dir == "/") {
    return absl::InvalidArgumentError(StrCat("cgroup root \"", dir, "\": want an absolute directory"));
  }
  const std::string parent = Parent(dir);
  if (!OnCgroup2(parent)) return absl::FailedPreconditionError(StrCat("cgroup root ", dir, ": ", parent, " is not cgroup2"));
  RETURN_IF_ERROR(EnableControllers(parent));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", dir));
  RETURN_IF_ERROR(EnableControllers(dir));
  return CgroupRoot(dir);
}

absl::StatusOr<ContainerCgroup> CgroupRoot::Create(const std::string& container_id) const {
  const std::string path = StrCat(path_, "/", container_id);
  if (::mkdir(path.c_str(), 0755) != 0) {
    const int err = errno;
    if (err == EEXIST) return absl::AlreadyExistsError(StrCat("cgroup ", path, " already exists"));
    return ErrnoStatus(err, StrCat("mkdir ", path));
  }
  return ContainerCgroup(path);
}

}  // namespace kata::guest
