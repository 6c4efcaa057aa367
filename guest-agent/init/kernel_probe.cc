#include "guest-agent/init/kernel_probe.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libkata/base/file_util.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string Cgroup2Root(const KernelProbeRoots& roots) {
  for (const auto& dir : roots.cgroup2_candidates) {
    struct statfs fs;
    if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return dir;
  }
  return "";
}

// CGROUP_BPF off: the query is refused with EINVAL; BPF_SYSCALL off: ENOSYS.
bool CgroupBpfAnswers(const std::string& cgroup_dir) {
  UniqueFd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return false;
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(dir.get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  return ::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr) == 0;
}

}  // namespace

kernel::GuestObservation ObserveKernel(const KernelProbeRoots& roots) {
  kernel::GuestObservation seen;
  // Lines are "nodev\tname" or "\tname".
  if (auto text = ReadFileToString(roots.proc + "/filesystems", 1 << 16); text.ok()) {
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      const size_t tab = line.rfind('\t');
      seen.filesystems.emplace(absl::StripAsciiWhitespace(tab == absl::string_view::npos ? line : line.substr(tab + 1)));
    }
  }
  const std::string cgroup = Cgroup2Root(roots);
  if (!cgroup.empty()) {
    if (auto text = ReadFileToString(cgroup + "/cgroup.controllers", 4096); text.ok()) {
      for (absl::string_view c : absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) seen.cgroup_controllers.emplace(c);
    }
    seen.cgroup_bpf = CgroupBpfAnswers(cgroup);
  }
  for (const auto& r : kernel::GuestKernelRequirements()) {
    const std::string what(r.what);
    if (r.probe == kernel::ProbeKind::kNamespace && Exists(roots.proc + "/self/ns/" + what)) seen.namespaces.insert(what);
    if (r.probe == kernel::ProbeKind::kPath) {
      // /proc paths follow the probe's proc root (tests); the rest are absolute.
      const std::string path = what.starts_with("/proc/") ? roots.proc + what.substr(5) : what;
      if (Exists(path)) seen.existing_paths.insert(what);
    }
  }
  return seen;
}

std::vector<std::string> KernelLacks(const KernelProbeRoots& roots) {
  std::vector<std::string> required, optional;
  for (const auto* r : kernel::MissingInGuest(ObserveKernel(roots))) {
    if (r->required) {
      required.push_back(kernel::Describe(*r));
    } else {
      std::string d = kernel::Describe(*r);
      optional.push_back(d.insert(d.size() - 1, "; optional"));
    }
  }
  required.insert(required.end(), optional.begin(), optional.end());
  return required;
}

}  // namespace kata::guest
