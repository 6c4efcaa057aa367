#pragma once

// The steps of a container init's setup, each in a file named after it, run by
// RunInitSetup in runc's order (libcontainer/standard_init_linux.go, rootfs_linux.go):
//
//   (in the forking middle, when the spec joins namespaces) join_namespaces
//   loopback -> prepare_root -> spec_mounts -> dev_nodes -> working_dir -> pivot_root
//   -> finalize_root -> hostname -> sysctls -> readonly_paths -> masked_paths
//
// Every step runs in the freshly cloned child: syscalls only. A failure goes to the agent
// through ChildFail with the step and the index of the item (mount, node, sysctl, path) it
// was at, and the child exits.

#include <vector>

#include "guest-agent/setup/init_plan.h"

namespace kata::guest {

struct SetupContext {
  const InitPlan& plan;
  int status_fd;
  int root_fd = -1;  // the container root (the rbind made by prepare_root), O_PATH
};

// setns into each joined namespace (fds already open).
void JoinNamespaces(const std::vector<NamespaceJoin>& joins, int status_fd) noexcept;
// A new network namespace: lo up.
void BringUpLoopback(SetupContext& ctx) noexcept;
// Propagation of "/" (linux.rootfsPropagation), the rootfs's mount private, the rootfs bound
// on itself; opens ctx.root_fd.
void PrepareRoot(SetupContext& ctx) noexcept;
// mounts[] in spec order.
void MountSpecMounts(SetupContext& ctx) noexcept;
// /dev nodes, /dev symlinks and /dev/console.
void CreateDevNodes(SetupContext& ctx) noexcept;
// mkdir -p process.cwd inside the root.
void MakeWorkingDir(SetupContext& ctx) noexcept;
// pivot_root into the container root; the old root is detached.
void PivotRoot(SetupContext& ctx) noexcept;
// A read-only /dev once its nodes are made; root.readonly.
void FinalizeRoot(SetupContext& ctx) noexcept;
void SetHostnames(SetupContext& ctx) noexcept;
void ApplySysctls(SetupContext& ctx) noexcept;
void MakePathsReadonly(SetupContext& ctx) noexcept;
void MaskPaths(SetupContext& ctx) noexcept;

// Every step after the joins, in order.
void RunInitSetup(const InitPlan& plan, int status_fd) noexcept;

}  // namespace kata::guest
