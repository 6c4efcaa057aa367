#include "libkata/mount/options.h"

#include <libmount/libmount.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "libkata/base/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kata::mount {
namespace {

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

std::vector<std::string> SplitCommas(const char* s) {
  if (s == nullptr || *s == '\0') return {};
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}

std::string_view KeyOf(std::string_view option) {
  const size_t eq = option.find('=');
  return eq == std::string_view::npos ? option : option.substr(0, eq);
}

}  // namespace

absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  std::vector<std::string> kept;
  for (const std::string& o : options) {
    if (o.empty()) continue;
    if (o.find(',') != std::string::npos || o.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("mount option \"", o, "\" holds a comma or NUL byte"));
    }
    kept.push_back(o);
  }
  MountOptions out;
  if (kept.empty()) return out;
  const std::string optstr = absl::StrJoin(kept, ",");

  char* user = nullptr;
  char* vfs = nullptr;
  char* fs = nullptr;
  if (int rc = mnt_split_optstr(optstr.c_str(), &user, &vfs, &fs, 0, 0); rc != 0) {
    return absl::InvalidArgumentError(
        StrCat("cannot split mount options \"", optstr, "\" (libmount error ", rc, ")"));
  }
  CString user_owner(user), vfs_owner(vfs), fs_owner(fs);

  // "rw" is in libmount's map as the inverse of MS_RDONLY; the vfs part holds every option
  // that maps to a flag, fs-specific ones go to the data string.
  unsigned long flags = 0;
  if (vfs != nullptr) {
    if (int rc = mnt_optstr_get_flags(vfs, &flags, mnt_get_builtin_optmap(MNT_LINUX_MAP));
        rc != 0) {
      return absl::InvalidArgumentError(
          StrCat("cannot map mount options \"", vfs, "\" to flags (libmount error ", rc, ")"));
    }
  }
  out.flags = flags;
  out.data = fs != nullptr ? fs : "";
  out.userspace = SplitCommas(user);
  return out;
}

std::vector<std::string> FlagsToOptions(unsigned long flags) {
  char* optstr = nullptr;
  if (mnt_optstr_apply_flags(&optstr, flags, mnt_get_builtin_optmap(MNT_LINUX_MAP)) != 0) {
    std::free(optstr);
    return {};
  }
  CString owner(optstr);
  return SplitCommas(optstr);
}

bool IsKataMarker(std::string_view option) {
  return option.starts_with("X-kata.") || option == "loop" || option.starts_with("device=");
}

SplitResult SplitKataMarkers(const std::vector<std::string>& options) {
  SplitResult r;
  for (const std::string& o : options) {
    (IsKataMarker(o) ? r.markers : r.mount_options).push_back(o);
  }
  return r;
}

std::optional<std::string> FindOptionValue(const std::vector<std::string>& options,
                                           std::string_view key) {
  for (const std::string& o : options) {
    if (KeyOf(o) != key) continue;
    return o.size() > key.size() ? o.substr(key.size() + 1) : std::string();
  }
  return std::nullopt;
}

std::vector<std::string> FindAllOptionValues(const std::vector<std::string>& options,
                                             std::string_view key) {
  std::vector<std::string> out;
  for (const std::string& o : options) {
    if (KeyOf(o) == key && o.size() > key.size()) out.push_back(o.substr(key.size() + 1));
  }
  return out;
}

}  // namespace kata::mount
