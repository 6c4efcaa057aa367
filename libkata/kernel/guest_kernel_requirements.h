#pragma once

// What the agent needs from the guest kernel, by Kconfig option, with how each is seen from
// inside a running guest. One table serves both ends: `kata-runtime check` reads the kernel's
// .config on the host, the agent probes the kernel it runs on; both name the option that is
// missing and what fails without it. rootfs-builder/kernel/guest.config is the minimal kernel
// that has them all.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace kata::kernel {

// How the agent sees an option in the kernel it runs on (after loading its modules).
enum class ProbeKind {
  kNone,              // only the host's .config tells (boot and PCI plumbing)
  kFilesystem,        // `what` is listed in /proc/filesystems
  kCgroupController,  // `what` is in the root cgroup2's cgroup.controllers
  kNamespace,         // /proc/self/ns/`what` exists
  kPath,              // the path `what` exists
  kCgroupBpf,         // bpf(BPF_PROG_QUERY) on a cgroup answers for BPF_CGROUP_DEVICE
};

struct Requirement {
  std::string_view option;      // "CONFIG_EROFS_FS"
  std::string_view needed_for;  // what fails without it, for the user
  ProbeKind probe;
  std::string_view what;        // the probe's argument
  std::string_view module;      // a Debian module that provides it ("erofs"), or "" if built-in only
  bool required = true;         // false: a feature some specs use; its absence is a warning
};

absl::Span<const Requirement> GuestKernelRequirements();

// A kernel .config: option -> value ("y", "m", a string); "# X is not set" reads as "n".
std::map<std::string, std::string, std::less<>> ParseKernelConfig(std::string_view text);

struct Shortfall {
  const Requirement* requirement;
  std::string detail;  // "not set", or "=m but the initrd does not load erofs.ko"
};

// The requirements a kernel's .config does not meet. An option built as a module counts when
// the initrd loads that module (`initrd_modules`: file names, "erofs.ko").
std::vector<Shortfall> ConfigShortfalls(const std::map<std::string, std::string, std::less<>>& config,
                                        const std::set<std::string, std::less<>>& initrd_modules);

// What an agent saw of its kernel; `Probe` in the agent fills it.
struct GuestObservation {
  std::set<std::string, std::less<>> filesystems;
  std::set<std::string, std::less<>> cgroup_controllers;
  std::set<std::string, std::less<>> namespaces;
  std::set<std::string, std::less<>> existing_paths;
  bool cgroup_bpf = false;
};

// The requirements with a probe that the observation does not show.
std::vector<const Requirement*> MissingInGuest(const GuestObservation& seen);

// "CONFIG_EROFS_FS (EROFS image layers)": how a missing option is named to users.
std::string Describe(const Requirement& r);

}  // namespace kata::kernel
