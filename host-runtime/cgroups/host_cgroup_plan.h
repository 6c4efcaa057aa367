#pragma once

// Where a sandbox's cgroup goes on the host, decided from text (/proc/self/mountinfo,
// /proc/<pid>/cgroup, the spec's linux.cgroupsPath): Kata's sandbox_cgroup_only, under which
// the shim and QEMU (with all their threads) live in the pod sandbox's cgroup so that
// Kubernetes accounts the VM to the pod. cgroup v1 (one hierarchy per controller set, and
// named ones like name=systemd), v2, and the hybrid of both.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kata::runtime {

struct CgroupHierarchy {
  std::string mount_point;  // /sys/fs/cgroup/memory, /sys/fs/cgroup/unified, /sys/fs/cgroup
  bool unified = false;     // cgroup2
  // v1: the controllers (and name=...) it holds, as /proc/<pid>/cgroup lists them:
  // "cpu,cpuacct", "name=systemd". v2: "".
  std::string controllers;
  bool operator==(const CgroupHierarchy&) const = default;
};

// The cgroup mounts of `mountinfo`, one per hierarchy (a hierarchy mounted twice counts once).
std::vector<CgroupHierarchy> CgroupHierarchiesFromMountinfo(absl::string_view mountinfo);

// linux.cgroupsPath -> the path below each hierarchy's root. "/a/b" (cgroupfs, as CRI's
// cgroup_parent + id) as is; "slice:prefix:name" (systemd) -> "/a.slice/a-b.slice/prefix-name.scope".
// Empty, relative, "." or ".." components, and a malformed systemd form are InvalidArgument
// naming linux.cgroupsPath.
absl::StatusOr<std::string> CgroupRelativePath(absl::string_view cgroups_path);

// From /proc/<pid>/cgroup text: the path of `hierarchy`'s line, or NotFound.
absl::StatusOr<std::string> CgroupOfProcess(absl::string_view proc_cgroup, const CgroupHierarchy& hierarchy);

}  // namespace kata::runtime
