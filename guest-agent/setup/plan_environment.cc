#include "guest-agent/setup/plan_environment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/safe_path/safe_path.h"

namespace kata::guest {
namespace {

// mountinfo's 5th field, with its octal escapes (\040) undone. Parsed here: the agent links
// statically, without libmount.
std::string MountTarget(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  if (f.size() < 5) return "";
  std::string out;
  const absl::string_view t = f[4];
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\\' && i + 3 < t.size()) {
      out += static_cast<char>((t[i + 1] - '0') * 64 + (t[i + 2] - '0') * 8 + (t[i + 3] - '0'));
      i += 3;
    } else {
      out += t[i];
    }
  }
  return out;
}

std::string MountPointHolding(const std::string& path) {
  auto table = ReadFileToString("/proc/self/mountinfo");
  if (!table.ok()) return "";
  std::string best;
  for (absl::string_view line : absl::StrSplit(*table, '\n', absl::SkipEmpty())) {
    const std::string t = MountTarget(line);
    const bool holds = t == "/" || path == t || (path.starts_with(t) && path.size() > t.size() && path[t.size()] == '/');
    if (holds && t.size() >= best.size()) best = t;
  }
  return best;
}

// The node devtmpfs made for a device, by /sys/dev/{block,char}/M:m/uevent's DEVNAME.
std::string VmNode(char type, int64_t major, int64_t minor) {
  const std::string uevent = StrCat("/sys/dev/", type == 'b' ? "block" : "char", "/", major, ":", minor, "/uevent");
  auto text = ReadFileToString(uevent);
  if (!text.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::StartsWith(line, "DEVNAME=")) continue;
    std::string name(line.substr(8));
    if (name.empty() || name.find("..") != std::string::npos) return "";
    return "/dev/" + name;
  }
  return "";
}

absl::StatusOr<bool> IsDir(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat");
  return S_ISDIR(st.st_mode);
}

}  // namespace

std::string ReadImagePasswd(const std::string& rootfs) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return "";
  auto fd = safe_path::OpenInRoot(root.get(), "/etc/passwd", O_RDONLY);
  if (!fd.ok()) return "";
  auto text = ReadFileToString(StrCat("/proc/self/fd/", fd->get()), 1 << 20);
  return text.ok() ? *text : "";
}

PlanEnvironment ProbePlanEnvironment(const std::string& rootfs, pid_t sandbox_init_pid) {
  PlanEnvironment env;
  env.rootfs_mount = MountPointHolding(rootfs);
  env.sandbox_init_pid = sandbox_init_pid;
  env.proc_kcore = ::access("/proc/kcore", F_OK) == 0;
  env.passwd = ReadImagePasswd(rootfs);
  env.source_is_dir = IsDir;
  env.vm_node = VmNode;
  return env;
}

}  // namespace kata::guest
