#include "host-runtime/cgroups/host_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

std::string Dir(const CgroupHierarchy& h, const std::string& relative) { return StrCat(h.mount_point, relative == "/" ? "" : relative); }

bool HasCpuset(const CgroupHierarchy& h) {
  if (h.unified) return false;
  for (absl::string_view c : absl::StrSplit(h.controllers, ',')) {
    if (c == "cpuset") return true;
  }
  return false;
}

absl::Status WriteValue(const std::string& path, const std::string& value) {
  auto fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open ", path));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) return ErrnoStatus(err, StrCat("write \"", value, "\" to ", path));
  return absl::OkStatus();
}

// v1 cpuset: an empty cpus or mems refuses every process; inherit the parent's.
absl::Status InheritCpuset(const std::string& dir) {
  const std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = ReadFileToString(StrCat(dir, "/", file), 4096);
    if (mine.ok() && !absl::StripAsciiWhitespace(*mine).empty()) continue;
    auto theirs = ReadFileToString(StrCat(parent, "/", file), 4096);
    if (!theirs.ok()) return theirs.status();
    RETURN_IF_ERROR(WriteValue(StrCat(dir, "/", file), std::string(absl::StripAsciiWhitespace(*theirs))));
  }
  return absl::OkStatus();
}

absl::Status RemoveDir(const std::string& dir) {
  for (int i = 0; i < 50; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) break;
    ::usleep(20 * 1000);  // an exiting process leaves its cgroups a moment after
  }
  return ErrnoStatus(errno, StrCat("remove the cgroup ", dir));
}

}  // namespace

std::vector<CgroupHierarchy> HostCgroupHierarchies() {
  auto mountinfo = ReadFileToString("/proc/self/mountinfo", 1 << 22);
  return mountinfo.ok() ? CgroupHierarchiesFromMountinfo(*mountinfo) : std::vector<CgroupHierarchy>{};
}

absl::StatusOr<HostCgroup> HostCgroup::Create(std::vector<CgroupHierarchy> hierarchies, const std::string& relative) {
  HostCgroup cg;
  cg.hierarchies_ = std::move(hierarchies);
  cg.relative_ = relative;
  if (cg.hierarchies_.empty()) return absl::FailedPreconditionError("no cgroup hierarchy is mounted on the host");
  for (const CgroupHierarchy& h : cg.hierarchies_) {
    std::string dir = h.mount_point;
    for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
      dir = StrCat(dir, "/", part);
      if (::mkdir(dir.c_str(), 0755) != 0) {
        if (errno == EEXIST) continue;
        const absl::Status s = ErrnoStatus(errno, StrCat("make the cgroup ", dir));
        (void)cg.Remove();
        return s;
      }
      cg.made_.push_back(dir);
      if (HasCpuset(h)) {
        if (absl::Status s = InheritCpuset(dir); !s.ok()) {
          (void)cg.Remove();
          return absl::Status(s.code(), StrCat("cgroup ", dir, ": ", s.message()));
        }
      }
    }
  }
  return cg;
}

absl::Status HostCgroup::Join(pid_t pid) {
  auto current = ReadFileToString(StrCat("/proc/", pid, "/cgroup"), 1 << 16);
  if (!current.ok()) return current.status();
  std::vector<std::string> before;
  for (const CgroupHierarchy& h : hierarchies_) {
    auto path = CgroupOfProcess(*current, h);
    before.push_back(path.ok() ? *path : "/");
  }
  for (size_t i = 0; i < hierarchies_.size(); ++i) {
    if (absl::Status s = WriteValue(StrCat(Dir(hierarchies_[i], relative_), "/cgroup.procs"), std::to_string(pid)); !s.ok()) {
      for (size_t j = 0; j < i; ++j) (void)WriteValue(StrCat(Dir(hierarchies_[j], before[j]), "/cgroup.procs"), std::to_string(pid));
      return s;
    }
  }
  joined_.emplace_back(pid, std::move(before));
  return absl::OkStatus();
}

absl::Status HostCgroup::Remove() {
  for (const auto& [pid, before] : joined_) {
    if (::kill(pid, 0) != 0) continue;
    for (size_t i = 0; i < hierarchies_.size(); ++i) {
      (void)WriteValue(StrCat(Dir(hierarchies_[i], before[i]), "/cgroup.procs"), std::to_string(pid));
    }
  }
  joined_.clear();
  absl::Status first;
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
    if (absl::Status s = RemoveDir(*it); !s.ok() && first.ok()) first = s;
  }
  made_.clear();
  return first;
}

void RemoveHostCgroupLeaf(const std::vector<CgroupHierarchy>& hierarchies, const std::string& relative) {
  for (const CgroupHierarchy& h : hierarchies) (void)RemoveDir(Dir(h, relative));
}

}  // namespace kata::runtime
