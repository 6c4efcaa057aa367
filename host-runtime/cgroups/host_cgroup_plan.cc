#include "host-runtime/cgroups/host_cgroup_plan.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

absl::Status Bad(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(StrCat("linux.cgroupsPath \"", path, "\": ", why));
}

// systemd's slice name -> its path: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice".
absl::StatusOr<std::string> SlicePath(absl::string_view slice, absl::string_view whole) {
  if (slice == "-.slice" || slice.empty()) return std::string();
  if (!absl::EndsWith(slice, ".slice")) return Bad(whole, StrCat("the slice \"", slice, "\" does not end in .slice"));
  const absl::string_view name = slice.substr(0, slice.size() - 6);
  std::string path, prefix;
  for (absl::string_view part : absl::StrSplit(name, '-')) {
    if (part.empty()) return Bad(whole, StrCat("the slice \"", slice, "\" has an empty part"));
    prefix = prefix.empty() ? std::string(part) : StrCat(prefix, "-", part);
    path += StrCat("/", prefix, ".slice");
  }
  return path;
}

}  // namespace

std::vector<CgroupHierarchy> CgroupHierarchiesFromMountinfo(absl::string_view mountinfo) {
  std::vector<CgroupHierarchy> out;
  std::set<std::string> seen;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    const std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    const auto dash = std::find(f.begin(), f.end(), "-");
    const size_t d = dash - f.begin();
    if (dash == f.end() || d < 5 || d + 2 >= f.size()) continue;  // fstype and source follow the dash
    const absl::string_view fstype = f[d + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupHierarchy h{std::string(f[4]), fstype == "cgroup2", ""};
    if (!h.unified && d + 3 < f.size()) {
      std::vector<std::string> controllers;
      for (absl::string_view opt : absl::StrSplit(f[d + 3], ',')) {
        // Options that are not controllers (rw, ro, relatime, clone_children, ...).
        if (opt == "rw" || opt == "ro" || opt == "clone_children" || opt == "noprefix" || opt == "xattr" ||
            opt == "cpuset_v2_mode" || absl::StartsWith(opt, "release_agent=") || opt == "favordynmods") {
          continue;
        }
        controllers.push_back(std::string(opt));
      }
      h.controllers = absl::StrJoin(controllers, ",");
    }
    const std::string key = h.unified ? "cgroup2" : h.controllers;
    if (seen.insert(key).second) out.push_back(std::move(h));
  }
  return out;
}

absl::StatusOr<std::string> CgroupRelativePath(absl::string_view cgroups_path) {
  if (cgroups_path.empty()) return Bad(cgroups_path, "empty");
  std::string path;
  if (cgroups_path[0] == '/') {
    path = std::string(cgroups_path);
  } else {
    const std::vector<absl::string_view> parts = absl::StrSplit(cgroups_path, ':');
    if (parts.size() != 3 || parts[2].empty()) {
      return Bad(cgroups_path, "neither an absolute cgroupfs path nor systemd's slice:prefix:name");
    }
    auto slice = SlicePath(parts[0], cgroups_path);
    if (!slice.ok()) return slice.status();
    // systemd's name for a unit of the runtime's: prefix-name.scope (a name with a dot is a unit already).
    const std::string unit = absl::StrContains(parts[2], '.') ? std::string(parts[2])
                             : parts[1].empty()               ? StrCat(parts[2], ".scope")
                                                              : StrCat(parts[1], "-", parts[2], ".scope");
    path = StrCat(*slice, "/", unit);
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return Bad(cgroups_path, "empty, \".\" or \"..\" component");
  }
  return path;
}

absl::StatusOr<std::string> CgroupOfProcess(absl::string_view proc_cgroup, const CgroupHierarchy& hierarchy) {
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    // hierarchy-id:controllers:path
    const std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    const bool unified = f[0] == "0" && f[1].empty();
    if (unified != hierarchy.unified) continue;
    if (!unified) {
      // The same set, whatever the order.
      std::vector<absl::string_view> a = absl::StrSplit(f[1], ','), b = absl::StrSplit(hierarchy.controllers, ',');
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) continue;
    }
    return std::string(f[2]);
  }
  return absl::NotFoundError(StrCat("no cgroup of ", hierarchy.mount_point, " in /proc/<pid>/cgroup"));
}

}  // namespace kata::runtime
