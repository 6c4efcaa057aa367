#include "libkata/kernel/guest_kernel_requirements.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libkata/base/str_cat.h"

namespace kata::kernel {
namespace {

using P = ProbeKind;

// Ordered by what a user meets first. The probes name what each option makes visible:
// a filesystem type, a cgroup controller, a namespace file, a /proc or /sys entry.
constexpr Requirement kRequirements[] = {
    {"CONFIG_DEVTMPFS", "/dev in the guest", P::kFilesystem, "devtmpfs", ""},
    {"CONFIG_TMPFS", "/run, /dev/shm and the agent's root", P::kFilesystem, "tmpfs", ""},
    {"CONFIG_PVH", "booting the uncompressed vmlinux by QEMU's PVH entry", P::kNone, "", ""},
    {"CONFIG_PCI_MSI", "virtio devices on q35", P::kNone, "", ""},
    {"CONFIG_HOTPLUG_PCI_ACPI", "hot-plugged disks: q35 root ports announce them through ACPI", P::kNone, "", ""},
    {"CONFIG_HOTPLUG_PCI_PCIE", "hot-plugged disks into PCIe root ports", P::kNone, "", ""},
    {"CONFIG_VIRTIO_PCI", "every virtio device", P::kPath, "/sys/bus/pci/drivers/virtio-pci", ""},
    {"CONFIG_VIRTIO_BLK", "rootfs layers and block volumes on virtio-blk", P::kPath, "/sys/bus/virtio/drivers/virtio_blk",
     "virtio_blk"},
    {"CONFIG_VIRTIO_CONSOLE", "the agent channel over virtio-serial", P::kNone, "", ""},
    {"CONFIG_EXT4_FS", "ext4 writable layers", P::kFilesystem, "ext4", "ext4"},
    {"CONFIG_EROFS_FS", "EROFS image layers", P::kFilesystem, "erofs", "erofs"},
    {"CONFIG_OVERLAY_FS", "the container rootfs: overlayfs over the layers", P::kFilesystem, "overlay", "overlay"},
    {"CONFIG_9P_FS", "shared directories over virtio-9p: containerd's directory rootfs, host bind mounts",
     P::kFilesystem, "9p", "9p"},
    {"CONFIG_NET_9P_VIRTIO", "the virtio-9p transport", P::kNone, "", "9pnet_virtio"},
    {"CONFIG_UNIX", "the agent's own sockets", P::kPath, "/proc/net/unix", ""},
    {"CONFIG_INET", "container networking over IPv4", P::kPath, "/proc/sys/net/ipv4", ""},
    {"CONFIG_IPV6", "container networking over IPv6", P::kPath, "/proc/net/if_inet6", "", false},
    {"CONFIG_VIRTIO_NET", "pod networks: the VM's NICs", P::kPath, "/sys/bus/virtio/drivers/virtio_net", "virtio_net",
     false},
    {"CONFIG_UTS_NS", "the uts namespace of a container", P::kNamespace, "uts", ""},
    {"CONFIG_IPC_NS", "the ipc namespace of a container", P::kNamespace, "ipc", ""},
    {"CONFIG_PID_NS", "the pid namespace of a container", P::kNamespace, "pid", ""},
    {"CONFIG_NET_NS", "the network namespace of a container", P::kNamespace, "net", ""},
    {"CONFIG_USER_NS", "user namespaces, linux.uidMappings", P::kNamespace, "user", "", false},
    {"CONFIG_TIME_NS", "time namespaces", P::kNamespace, "time", "", false},
    {"CONFIG_SYSVIPC", "System V IPC in containers", P::kPath, "/proc/sysvipc", ""},
    {"CONFIG_POSIX_MQUEUE", "/dev/mqueue in runc's default spec", P::kFilesystem, "mqueue", ""},
    {"CONFIG_CGROUPS", "a cgroup2 cgroup per container", P::kFilesystem, "cgroup2", ""},
    {"CONFIG_MEMCG", "linux.resources.memory and memory stats", P::kCgroupController, "memory", ""},
    {"CONFIG_CGROUP_PIDS", "linux.resources.pids", P::kCgroupController, "pids", ""},
    {"CONFIG_CGROUP_SCHED", "linux.resources.cpu shares and quota", P::kCgroupController, "cpu", ""},
    {"CONFIG_CPUSETS", "linux.resources.cpu.cpus and mems", P::kCgroupController, "cpuset", ""},
    {"CONFIG_BLK_CGROUP", "linux.resources.blockIO", P::kCgroupController, "io", "", false},
    {"CONFIG_CGROUP_HUGETLB", "linux.resources.hugepageLimits", P::kCgroupController, "hugetlb", "", false},
    {"CONFIG_SECCOMP_FILTER", "linux.seccomp", P::kPath, "/proc/sys/kernel/seccomp/actions_avail", ""},
    {"CONFIG_BPF_SYSCALL", "linux.resources.devices as BPF device programs", P::kFilesystem, "bpf", ""},
    {"CONFIG_CGROUP_BPF", "linux.resources.devices as BPF device programs", P::kCgroupBpf, "", ""},
    {"CONFIG_MAGIC_SYSRQ", "/proc/sysrq-trigger", P::kPath, "/proc/sysrq-trigger", "", false},
    {"CONFIG_BLK_DEV_LOOP", "loop devices in the guest", P::kPath, "/dev/loop-control", "loop", false},
};

}  // namespace

absl::Span<const Requirement> GuestKernelRequirements() { return kRequirements; }

std::map<std::string, std::string, std::less<>> ParseKernelConfig(std::string_view text) {
  std::map<std::string, std::string, std::less<>> values;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "# ")) {
      if (absl::StartsWith(line, "CONFIG_") && absl::ConsumeSuffix(&line, " is not set")) values[std::string(line)] = "n";
      continue;
    }
    const size_t eq = line.find('=');
    if (!absl::StartsWith(line, "CONFIG_") || eq == absl::string_view::npos) continue;
    values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return values;
}

std::vector<Shortfall> ConfigShortfalls(const std::map<std::string, std::string, std::less<>>& config,
                                        const std::set<std::string, std::less<>>& initrd_modules) {
  std::vector<Shortfall> out;
  for (const Requirement& r : kRequirements) {
    auto it = config.find(r.option);
    const std::string value = it == config.end() ? "n" : it->second;
    if (value == "y") continue;
    if (value == "m") {
      const std::string file = StrCat(r.module, ".ko");
      if (!r.module.empty() && initrd_modules.contains(file)) continue;
      out.push_back({&r, r.module.empty() ? std::string("=m, but the agent loads no module for it")
                                          : StrCat("=m, but the initrd does not load ", file)});
      continue;
    }
    out.push_back({&r, "not set"});
  }
  return out;
}

std::vector<const Requirement*> MissingInGuest(const GuestObservation& seen) {
  std::vector<const Requirement*> out;
  for (const Requirement& r : kRequirements) {
    bool present = true;
    switch (r.probe) {
      case P::kNone: break;
      case P::kFilesystem: present = seen.filesystems.contains(r.what); break;
      case P::kCgroupController: present = seen.cgroup_controllers.contains(r.what); break;
      case P::kNamespace: present = seen.namespaces.contains(r.what); break;
      case P::kPath: present = seen.existing_paths.contains(r.what); break;
      case P::kCgroupBpf: present = seen.cgroup_bpf; break;
    }
    if (!present) out.push_back(&r);
  }
  return out;
}

std::string Describe(const Requirement& r) { return StrCat(r.option, " (", r.needed_for, ")"); }

}  // namespace kata::kernel
