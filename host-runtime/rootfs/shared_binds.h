#pragma once

// Bind mounts of host paths (docker/podman volumes, `ctr run --mount type=bind`, Kubernetes'
// /etc/hosts, /etc/resolv.conf, emptyDir...) reach the guest through the sandbox's shared
// directory: each source is bound on the host at <shared dir>/<container>/mounts/<n> (read-only
// there when the mount is), and the guest spec's mount binds the guest's view of that path. The
// design needs only "a host directory the guest sees", so virtio-fs can replace 9p later.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

struct SharedBind {
  int mount_index = 0;     // in spec.mounts
  std::string source;      // the host path, as the spec gives it
  std::string host_target; // relative to the shared directory: "<cid>/mounts/<n>"
  std::string guest_source;  // where the guest finds it
  bool readonly = false;
  bool recursive = false;
};

// True for a mount that binds a path (type bind, or a bind/rbind option).
bool IsBindMount(const oci::Mount& m);

// Mounts `binds` under `shared_dir`. Each source is resolved on the host (symlinks followed, as
// runc follows them) and must exist: NotFound names the mount. On failure what was mounted is
// undone. Appends what it mounted to `mounted` (host paths, for UnmountSharedBinds).
absl::Status MountSharedBinds(const std::vector<SharedBind>& binds, const std::string& shared_dir,
                              std::vector<std::string>& mounted);

// Unmounts (lazily) and removes each path, then their mounts/ directory. Idempotent.
absl::Status UnmountSharedBinds(std::vector<std::string>& mounted);

}  // namespace kata::runtime
