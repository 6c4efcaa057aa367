#pragma once

// The agent's contract on the paths the host names (docs/agent-contract.md): the agent
// trusts none of them. Below the sandbox directory S (/run/kata-containers):
//   S/<cid>/...                    container <cid>'s own: its rootfs S/<cid>/rootfs and the
//                                  mount points of the storages CreateContainer brings
//   S/shared/containers/<cid>/...  its part of the shared filesystem: a directory rootfs
//                                  (.../rootfs) and the host binds (.../mounts/<n>)
//   S/sandbox/resolv.conf          the pod's DNS (CreateSandbox's dns), which any container
//                                  may bind (read-only by its spec, as CRI binds it)
//   S/shared/..., S/sandbox/...    the pod's storages: CreateSandbox's, and those a
//                                  CreateContainer shares with the pod (shm, ephemeral
//                                  volumes), never inside S/shared/containers
// A container's bind sources lie in its own part, in a storage it or the sandbox holds, or
// in the VM's kernel views (/dev, /proc, /sys), where a device node must be one its device
// rules let it open, and /proc/<pid> (another process's root, fds...) is out of bounds.
// Every path is clean (absolute, no "." or ".." or empty component) and crosses no symlink.
// "shared" and "sandbox" are not container ids.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "guest-agent/device_cgroup/device_rules.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct AgentLayout {
  std::string sandbox_dir;
  std::string ContainerDir(const std::string& cid) const { return sandbox_dir + "/" + cid; }
  std::string SharedContainerDir(const std::string& cid) const { return sandbox_dir + "/shared/containers/" + cid; }
};

// What a path names, found without following any symlink: NotFound, or InvalidArgument
// when a component is a symlink.
struct PathFacts {
  mode_t mode = 0;
  dev_t rdev = 0;
};
using PathProbe = std::function<absl::StatusOr<PathFacts>(const std::string& path)>;
// The real probe: openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from "/".
absl::StatusOr<PathFacts> ProbePathNoSymlinks(const std::string& path);

// A clean absolute path: InvalidArgument naming `field` otherwise.
absl::Status CheckCleanPath(const std::string& field, const std::string& path);

// CreateSandbox's storages.
absl::Status CheckSandboxStorages(const AgentLayout& layout,
                                  const google::protobuf::RepeatedPtrField<agent::Storage>& storages);

// A CreateContainer request: its id, root.path, storages and bind sources.
// `sandbox_storages`: the mount points the sandbox holds.
absl::Status CheckContainerPaths(const AgentLayout& layout, const agent::CreateContainerRequest& req,
                                 const std::vector<std::string>& sandbox_storages, const DevicePolicy& devices,
                                 const PathProbe& probe);

}  // namespace kata::guest
