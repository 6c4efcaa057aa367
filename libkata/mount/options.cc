#include "libkata/mount/options.h"

#include <sys/mount.h>

#include <array>

#include "absl/strings/str_join.h"
#include "libkata/base/str_cat.h"

namespace kata::mount {
namespace {

// The kernel's mount(2) flags by option name: the same names, in the same order, as
// util-linux's map (mount(8)'s vocabulary). Kept here rather than taken from libmount at run
// time so that kata-agent links statically; mount_test checks it against libmount's map.
struct FlagOption {
  std::string_view name;
  unsigned long flags;
  bool clears;  // "rw", "exec", ...: the option turns its flags off
};
constexpr std::array<FlagOption, 40> kFlagOptions = {{
    {"ro", MS_RDONLY, false},           {"rw", MS_RDONLY, true},
    {"exec", MS_NOEXEC, true},          {"noexec", MS_NOEXEC, false},
    {"suid", MS_NOSUID, true},          {"nosuid", MS_NOSUID, false},
    {"dev", MS_NODEV, true},            {"nodev", MS_NODEV, false},
    {"sync", MS_SYNCHRONOUS, false},    {"async", MS_SYNCHRONOUS, true},
    {"dirsync", MS_DIRSYNC, false},     {"remount", MS_REMOUNT, false},
    {"bind", MS_BIND, false},           {"rbind", MS_BIND | MS_REC, false},
    {"silent", MS_SILENT, false},       {"loud", MS_SILENT, true},
    {"mand", MS_MANDLOCK, false},       {"nomand", MS_MANDLOCK, true},
    {"atime", MS_NOATIME, true},        {"noatime", MS_NOATIME, false},
    {"iversion", MS_I_VERSION, false},  {"noiversion", MS_I_VERSION, true},
    {"diratime", MS_NODIRATIME, true},  {"nodiratime", MS_NODIRATIME, false},
    {"relatime", MS_RELATIME, false},   {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false}, {"nostrictatime", MS_STRICTATIME, true},
    {"lazytime", MS_LAZYTIME, false},   {"nolazytime", MS_LAZYTIME, true},
    {"unbindable", MS_UNBINDABLE, false}, {"runbindable", MS_UNBINDABLE | MS_REC, false},
    {"private", MS_PRIVATE, false},     {"rprivate", MS_PRIVATE | MS_REC, false},
    {"slave", MS_SLAVE, false},         {"rslave", MS_SLAVE | MS_REC, false},
    {"shared", MS_SHARED, false},       {"rshared", MS_SHARED | MS_REC, false},
    {"symfollow", MS_NOSYMFOLLOW, true}, {"nosymfollow", MS_NOSYMFOLLOW, false},
}};

// Options mount(8) keeps for itself: never for the kernel. `name=` entries take a value,
// `name` entries may not, and `x-`/`X-` are prefixes.
constexpr std::array<std::string_view, 23> kUserspaceNames = {
    "defaults", "auto", "noauto", "user", "nouser", "users", "nousers", "owner", "noowner", "group",
    "nogroup", "_netdev", "loop", "nofail", "comment=", "offset=", "sizelimit=", "encryption=",
    "uhelper=", "helper=", "user=", "loop=", "verity.",
};

std::string_view KeyOf(std::string_view option) {
  const size_t eq = option.find('=');
  return eq == std::string_view::npos ? option : option.substr(0, eq);
}

const FlagOption* FindFlagOption(std::string_view option) {
  for (const FlagOption& f : kFlagOptions) {
    if (f.name == option) return &f;
  }
  return nullptr;
}

bool IsUserspaceOption(std::string_view option) {
  if (option.starts_with("x-") || option.starts_with("X-") || option.starts_with("verity.")) return true;
  const bool has_value = option.find('=') != std::string_view::npos;
  const std::string_view key = KeyOf(option);
  for (std::string_view name : kUserspaceNames) {
    if (name.ends_with('=')) {
      if (has_value && name.substr(0, name.size() - 1) == key) return true;
    } else if (!has_value && name == option) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  std::vector<std::string> data;
  for (const std::string& o : options) {
    if (o.empty()) continue;
    if (o.find(',') != std::string::npos || o.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("mount option \"", o, "\" holds a comma or NUL byte"));
    }
    if (const FlagOption* f = FindFlagOption(o)) {
      out.flags = f->clears ? (out.flags & ~f->flags) : (out.flags | f->flags);
    } else if (IsUserspaceOption(o)) {
      out.userspace.push_back(o);
    } else {
      data.push_back(o);
    }
  }
  out.data = absl::StrJoin(data, ",");
  return out;
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
