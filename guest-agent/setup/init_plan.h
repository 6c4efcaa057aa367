#pragma once

// A container init's setup, decided in the agent before the clone (the child of a
// multi-threaded process may only make syscalls, so every path, flag and string is ready
// here). The child runs it as the ordered steps of init_steps.h, with runc's semantics
// (../shared/reference/oci-runtime-parity.md). Paths the child resolves are relative to the
// container root and resolved inside it at the moment they are used (openat2
// RESOLVE_IN_ROOT), so an earlier mount or an image symlink cannot lead them out.

#include <sys/mount.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "guest-agent/process/launch_plan.h"

namespace kata::guest {

struct MountStep {
  std::string destination;  // as the spec gives it, for errors
  std::string relative;     // destination relative to the container root ("dev/pts")
  std::string source;       // a bind's source is a path in the agent's view
  std::string fstype;
  unsigned long flags = 0;  // for mount(2), without propagation flags
  std::string data;
  bool bind = false;
  bool source_is_dir = true;        // a bind of a file lands on a file
  unsigned long remount_flags = 0;  // binds with flags beyond BIND|REC: remounted with these
  std::vector<unsigned long> propagation;  // one mount(2) each, after the mount
  // rro, rnosuid...: mount_setattr(AT_RECURSIVE) on a bind's whole tree (MOUNT_ATTR_*).
  uint64_t recursive_attr_set = 0, recursive_attr_clr = 0;
  bool tmpfs_keep_mode = false;     // tmpfs without mode=: keeps the mode of the dir it covers
  bool tmpcopyup = false;           // podman: the image's content at the destination is copied in
  bool no_symlink = false;          // proc and sysfs must not land on a symlink
  bool readonly_after_devices = false;  // a read-only /dev is made ro once its nodes exist
};

// A node runc creates in /dev (defaults, linux.devices).
struct DeviceNodeStep {
  std::string path;       // as the spec gives it, for errors
  std::string relative;   // "dev/null"
  mode_t mode = 0;        // type and permission bits
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string bind_source;  // the VM's node: bound instead where mknod is not allowed (user ns)
};

struct SymlinkStep {
  std::string target;    // what the link says ("/proc/self/fd")
  std::string relative;  // "dev/fd"
  bool replace = false;  // /dev/ptmx: whatever is there goes
};

struct SysctlStep {
  std::string key;   // "net.ipv4.ip_forward", for errors
  std::string path;  // "/proc/sys/net/ipv4/ip_forward", in the container's view
  std::string value;
};

// A namespace the init joins instead of making one (linux.namespaces[].path): opened by the
// agent, joined by the child before anything else.
struct NamespaceJoin {
  int nstype = 0;  // CLONE_NEW*
  std::string path;  // in the agent's view (/proc/<pid>/ns/ipc)
  int fd = -1;       // set by LaunchInit while the child is made
};

struct InitPlan {
  ExecPlan exec;
  std::string rootfs;         // the container root, in the agent's view
  std::string rootfs_mount;   // the mount point holding it: made private so pivot_root works
  int clone_flags = 0;        // CLONE_NEW* for the namespaces the container gets anew
  std::vector<NamespaceJoin> joins;
  unsigned long root_propagation = MS_SLAVE | MS_REC;  // linux.rootfsPropagation (runc's default)
  std::vector<MountStep> mounts;
  bool setup_dev = true;  // no bind mount on /dev: runc's nodes and links are made
  std::vector<DeviceNodeStep> devices;
  std::vector<SymlinkStep> symlinks;
  std::string console_source;  // a terminal: its pty slave (agent's view), bound on /dev/console
  bool loopback_up = false;    // a new network namespace gets lo up, as runc does
  std::string cwd_relative;    // process.cwd, made when missing (runc: mkdir -p 0755)
  bool root_readonly = false;
  bool set_hostname = false, set_domainname = false;
  std::string hostname, domainname;
  std::vector<SysctlStep> sysctls;
  std::vector<std::string> readonly_paths;  // container view, after pivot_root
  std::vector<std::string> masked_paths;    // container view, after pivot_root
  // With CLONE_NEWUSER: the /proc/<pid>/{uid,gid}_map contents the agent writes before the
  // child goes on ("0 100000 65536\n").
  std::string uid_map, gid_map;
  // Set by LaunchInit: a cgroup namespace is made by the init once it is in its cgroup.
  bool unshare_cgroupns = false;
};

}  // namespace kata::guest
