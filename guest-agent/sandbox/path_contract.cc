#include "guest-agent/sandbox/path_contract.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/network/sandbox_dns.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

// `path` is `dir` or lies below it.
bool Within(const std::string& path, const std::string& dir) {
  return path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}
bool StrictlyWithin(const std::string& path, const std::string& dir) { return path != dir && Within(path, dir); }

absl::Status Refuse(const std::string& field, const std::string& path, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(field, " \"", path.substr(0, 256), "\" ", why));
}

bool IsBind(const oci::Mount& m) {
  if (m.type() == "bind") return true;
  for (const std::string& o : m.options()) {
    if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

// /proc/<pid>, /proc/self, /proc/thread-self: another process's root, cwd and fds.
bool IsProcessDir(const std::string& path) {
  if (!StrictlyWithin(path, "/proc")) return false;
  const std::string first = path.substr(6, path.find('/', 6) - 6);
  if (first == "self" || first == "thread-self") return true;
  return !first.empty() && first.find_first_not_of("0123456789") == std::string::npos;
}

absl::Status CheckBindSource(const std::string& field, const std::string& source, const AgentLayout& layout,
                             const std::string& cid, const std::vector<std::string>& storages,
                             const DevicePolicy& devices, const PathProbe& probe) {
  if (absl::Status s = CheckCleanPath(field, source); !s.ok()) return s;
  if (Within(source, "/sys")) return absl::OkStatus();
  if (Within(source, "/proc")) {
    if (IsProcessDir(source)) return Refuse(field, source, "is a process's /proc directory (its root, fds and memory)");
    return absl::OkStatus();
  }
  if (source == "/dev") return Refuse(field, source, "is the VM's whole /dev (every container's disks)");
  const bool in_dev = Within(source, "/dev");
  bool allowed = in_dev || StrictlyWithin(source, layout.SharedContainerDir(cid)) ||
                 source == StrCat(layout.sandbox_dir, "/", kSandboxResolvConf);  // the pod's DNS (CreateSandbox)
  const std::string share = layout.sandbox_dir + "/shared/containers";
  for (const std::string& mp : storages) {
    // The share of all containers is no container's: only its own part of it counts.
    if (mp != share && Within(source, mp)) allowed = true;
  }
  if (!allowed) {
    return Refuse(field, source, StrCat("is outside container ", cid, "'s directories (", layout.SharedContainerDir(cid),
                                        "/, its storages, /dev, /proc, /sys)"));
  }
  auto facts = probe(source);
  if (!facts.ok()) return absl::Status(facts.status().code(), StrCat(field, " \"", source.substr(0, 256), "\": ", ToStd(facts.status().message())));
  if (in_dev && (S_ISBLK(facts->mode) || S_ISCHR(facts->mode))) {
    const char type = S_ISBLK(facts->mode) ? 'b' : 'c';
    const int64_t major = ::major(facts->rdev), minor = ::minor(facts->rdev);
    if (!devices.Allows(type, major, minor, kDevRead) && !devices.Allows(type, major, minor, kDevWrite)) {
      return Refuse(field, source, StrCat("is device ", std::string(1, type), " ", major, ":", minor,
                                          ", which linux.resources.devices does not let the container open"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PathFacts> ProbePathNoSymlinks(const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;  // no O_NOFOLLOW: with it a final symlink would be opened, not refused
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how))));
  if (!fd.valid()) {
    if (errno == ELOOP) return absl::InvalidArgumentError("crosses a symlink");
    return ErrnoStatus(errno, "open");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat");
  return PathFacts{st.st_mode, st.st_rdev};
}

absl::Status CheckCleanPath(const std::string& field, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(StrCat(field, " is empty"));
  if (path.find('\0') != std::string::npos) return Refuse(field, path, "holds a NUL byte");
  if (path.front() != '/') return Refuse(field, path, "is not absolute");
  if (path.size() > 4096) return Refuse(field, path, "is longer than PATH_MAX");
  if (path == "/") return absl::OkStatus();
  size_t start = 1;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view c(path.data() + start, end - start);
    if (c.empty() || c == "." || c == "..") return Refuse(field, path, "is not a clean path (empty, . or .. component)");
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::Status CheckSandboxStorages(const AgentLayout& layout,
                                  const google::protobuf::RepeatedPtrField<agent::Storage>& storages) {
  for (int i = 0; i < storages.size(); ++i) {
    const std::string field = StrCat("storages[", i, "].mount_point");
    const std::string& mp = storages.Get(i).mount_point();
    if (absl::Status s = CheckCleanPath(field, mp); !s.ok()) return s;
    if (!StrictlyWithin(mp, layout.sandbox_dir + "/shared") && !StrictlyWithin(mp, layout.sandbox_dir + "/sandbox")) {
      return Refuse(field, mp, StrCat("is not below ", layout.sandbox_dir, "/shared or ", layout.sandbox_dir,
                                      "/sandbox (the sandbox's storages)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckContainerPaths(const AgentLayout& layout, const agent::CreateContainerRequest& req,
                                 const std::vector<std::string>& sandbox_storages, const DevicePolicy& devices,
                                 const PathProbe& probe) {
  const std::string& cid = req.container_id();
  if (cid == "shared" || cid == "sandbox") {
    return absl::InvalidArgumentError(StrCat("container id \"", cid, "\" is reserved (", layout.sandbox_dir, "/", cid,
                                             " holds the sandbox's storages)"));
  }
  const std::string& root = req.oci().root().path();
  if (absl::Status s = CheckCleanPath("root.path", root); !s.ok()) return s;
  if (root != layout.ContainerDir(cid) + "/rootfs" && root != layout.SharedContainerDir(cid) + "/rootfs") {
    return Refuse("root.path", root, StrCat("is not ", layout.ContainerDir(cid), "/rootfs or ",
                                            layout.SharedContainerDir(cid), "/rootfs"));
  }
  std::vector<std::string> storages = sandbox_storages;
  for (int i = 0; i < req.storages_size(); ++i) {
    const std::string field = StrCat("storages[", i, "].mount_point");
    const std::string& mp = req.storages(i).mount_point();
    if (absl::Status s = CheckCleanPath(field, mp); !s.ok()) return s;
    // Its own directory, or the pod's (shm, ephemeral volumes: shared by its containers),
    // but not the share of all containers' rootfs and binds.
    const bool pod_wide = (StrictlyWithin(mp, layout.sandbox_dir + "/shared") ||
                           StrictlyWithin(mp, layout.sandbox_dir + "/sandbox")) &&
                          !Within(mp, layout.sandbox_dir + "/shared/containers");
    if (!StrictlyWithin(mp, layout.ContainerDir(cid)) && !pod_wide) {
      return Refuse(field, mp, StrCat("is not below ", layout.ContainerDir(cid), " (container ", cid,
                                      "'s directory) nor the pod's ", layout.sandbox_dir, "/sandbox or /shared"));
    }
    storages.push_back(mp);
  }
  // The rootfs itself: either a storage of this request or its part of the share; no symlink.
  if (auto facts = probe(root); !facts.ok() && facts.status().code() == absl::StatusCode::kInvalidArgument) {
    return Refuse("root.path", root, ToStd(facts.status().message()));
  }
  for (int i = 0; i < req.oci().mounts_size(); ++i) {
    const oci::Mount& m = req.oci().mounts(i);
    if (!IsBind(m)) continue;
    if (absl::Status s = CheckBindSource(StrCat("mounts[", i, "] (", m.destination().substr(0, 128), ").source"), m.source(),
                                         layout, cid, storages, devices, probe);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
