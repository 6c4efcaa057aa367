#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "libkata/base/str_cat.h"
#include "libkata/base/errno_status.h"
#include "libkata/safe_path/path_components.h"
#include "libkata/safe_path/safe_path.h"

namespace kata::safe_path {
namespace internal {

std::deque<std::string> SplitComponents(std::string_view path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const size_t end = j == std::string_view::npos ? path.size() : j;
    if (end > i) out.emplace_back(path.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

std::string JoinAbsolute(const std::deque<std::string>& components) {
  if (components.empty()) return "/";
  std::string out;
  for (const auto& c : components) {
    out += '/';
    out += c;
  }
  return out;
}

}  // namespace internal

absl::StatusOr<std::string> ScopedJoin(const std::string& root, std::string_view path) {
  using internal::JoinAbsolute;
  using internal::SplitComponents;
  if (root.empty() || root.front() != '/') {
    return absl::InvalidArgumentError(StrCat("root \"", root, "\" is not an absolute path"));
  }
  if (path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("path holds a NUL byte");
  }
  // Clean root once: callers pass "/a/b/" as often as "/a/b".
  const std::string clean_root =
      JoinAbsolute(SplitComponents(root)) == "/" ? "" : JoinAbsolute(SplitComponents(root));

  std::deque<std::string> pending = SplitComponents(path);
  std::deque<std::string> current;  // resolved components below root
  int links = 0;
  while (!pending.empty()) {
    std::string c = std::move(pending.front());
    pending.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!current.empty()) current.pop_back();  // never above root
      continue;
    }
    const std::string full = StrCat(clean_root, JoinAbsolute(current), current.empty() ? "" : "/", c);
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      // Missing or not a symlink: a plain name. (A missing one cannot redirect us.)
      current.push_back(std::move(c));
      continue;
    }
    if (++links > internal::kMaxSymlinks) {
      return absl::FailedPreconditionError(
          StrCat("too many symlinks resolving \"", path, "\" in ", root));
    }
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(full.c_str(), buf, sizeof(buf));
    if (n < 0) return ErrnoStatus(errno, StrCat("readlink ", full));
    const std::string_view target(buf, static_cast<size_t>(n));
    if (!target.empty() && target.front() == '/') current.clear();  // absolute: from root
    std::deque<std::string> link_parts = SplitComponents(target);
    pending.insert(pending.begin(), link_parts.begin(), link_parts.end());
  }
  const std::string rel = JoinAbsolute(current);
  if (clean_root.empty()) return rel;
  return current.empty() ? clean_root : StrCat(clean_root, rel);
}

}  // namespace kata::safe_path
