#include "host-runtime/cmd/host_check.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "host-runtime/cgroups/host_cgroup.h"
#include "host-runtime/network/network_probe.h"
#include "host-runtime/vm/accel_probe.h"
#include "host-runtime/vm/run_command.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/kernel/guest_kernel_requirements.h"

namespace kata::runtime {
namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The content of `name` in a newc cpio archive.
absl::StatusOr<std::string> NewcEntry(const std::string& archive, std::string_view name) {
  size_t pos = 0;
  auto field = [&](size_t header, int index) -> absl::StatusOr<uint32_t> {
    uint32_t v = 0;
    if (!absl::SimpleHexAtoi(archive.substr(header + 6 + 8 * index, 8), &v)) {
      return absl::InvalidArgumentError(StrCat("bad cpio header at offset ", header));
    }
    return v;
  };
  while (pos + 110 <= archive.size()) {
    if (archive.compare(pos, 6, "070701") != 0) return absl::InvalidArgumentError(StrCat("no cpio header at offset ", pos));
    auto size = field(pos, 6);
    auto name_size = field(pos, 11);
    if (!size.ok()) return size.status();
    if (!name_size.ok()) return name_size.status();
    const size_t name_at = pos + 110;
    if (*name_size == 0 || name_at + *name_size > archive.size()) break;
    const std::string entry = archive.substr(name_at, *name_size - 1);
    const size_t data_at = (name_at + *name_size + 3) & ~size_t{3};
    if (entry == "TRAILER!!!") break;
    if (data_at + *size > archive.size()) break;
    if (entry == name) return archive.substr(data_at, *size);
    pos = (data_at + *size + 3) & ~size_t{3};
  }
  return absl::NotFoundError(StrCat(name, " is not in the archive"));
}

CheckItem CheckQemu(const config::HypervisorConfig& hv) {
  if (::access(hv.path.c_str(), X_OK) != 0) return {"QEMU binary", false, StrCat(hv.path, " is not executable")};
  auto version = RunCommand({hv.path, "--version"}, absl::Seconds(10));
  if (!version.ok() || version->exit_code != 0) return {"QEMU binary", false, StrCat(hv.path, " --version failed")};
  return {"QEMU binary", true, StrCat(hv.path, ": ", version->output.substr(0, version->output.find('\n')))};
}

CheckItem CheckVmdk(const config::HypervisorConfig& hv) {
  // An unknown driver is refused by name; a known one gets as far as opening the file.
  auto r = RunCommand({hv.path, "-machine", "none", "-nodefaults", "-display", "none", "-blockdev",
                       "driver=vmdk,node-name=probe,file.driver=file,file.filename=/nonexistent/kata-check.vmdk"},
                      absl::Seconds(10));
  if (!r.ok()) return {"QEMU vmdk block driver", false, std::string(r.status().message())};
  const bool known = r->output.find("does not accept value 'vmdk'") == std::string::npos &&
                     r->output.find("Could not open") != std::string::npos;
  return {"QEMU vmdk block driver", known, known ? "blockdev driver vmdk is available" : "QEMU does not know the vmdk driver"};
}

CheckItem CheckVirtfs(const config::HypervisorConfig& hv) {
  auto r = RunCommand({hv.path, "-machine", "none", "-nodefaults", "-display", "none", "-device", "help"}, absl::Seconds(10));
  if (!r.ok()) return {"QEMU virtio-9p", false, std::string(r.status().message())};
  const bool known = r->output.find("\"virtio-9p-pci\"") != std::string::npos;
  return {"QEMU virtio-9p", known,
          known ? "virtio-9p-pci: directory rootfs and host binds (containerd's overlayfs snapshotter, CRI's files)"
                : "QEMU has no virtio-9p-pci: directory rootfs and host binds cannot reach the guest",
          hv.shared_fs == "virtio-9p"};
}

// Pods (and `ctr run`) name a cgroup: the sandbox's is made in every hierarchy, the shim and
// QEMU join it. Probed by making and removing one.
CheckItem CheckCgroups() {
  const auto hierarchies = HostCgroupHierarchies();
  int v1 = 0;
  bool v2 = false;
  for (const auto& h : hierarchies) {
    if (h.unified) {
      v2 = true;
    } else {
      ++v1;
    }
  }
  auto probe = HostCgroup::Create(hierarchies, StrCat("/kata-cpp-check-", ::getpid()));
  if (!probe.ok()) return {"cgroups", false, StrCat(probe.status().message(), " (the pod's cgroup on the host)")};
  const absl::Status removed = probe->Remove();
  if (!removed.ok()) return {"cgroups", false, std::string(removed.message())};
  return {"cgroups", true,
          StrCat(v1 > 0 ? StrCat("v1 (", v1, " hierarchies)") : "", v1 > 0 && v2 ? " + " : "", v2 ? "v2" : "",
                 ": a sandbox cgroup made and removed in each")};
}

// CRI's pod networks: containerd runs the CNI plugins from its configured bin_dir.
CheckItem CheckCniPlugins() {
  for (const char* dir : {"/opt/cni/bin", "/usr/lib/cni"}) {
    bool all = true;
    for (const char* plugin : {"bridge", "host-local", "loopback"}) all = all && ::access(StrCat(dir, "/", plugin).c_str(), X_OK) == 0;
    if (all) return {"CNI plugins", true, StrCat("bridge, host-local, loopback in ", dir, " (containerd's CRI cni.bin_dir must name it)"), false};
  }
  return {"CNI plugins", false, "no bridge, host-local and loopback in /opt/cni/bin or /usr/lib/cni: pods get no network", false};
}

// containerd's default snapshotter, which CRI uses unless told otherwise.
CheckItem CheckOverlayfs() {
  auto filesystems = ReadFileToString("/proc/filesystems", 1 << 16);
  bool known = filesystems.ok() && filesystems->find("\toverlay\n") != std::string::npos;
  if (!known) {
    struct utsname u;
    known = ::uname(&u) == 0 && IsFile(StrCat("/lib/modules/", u.release, "/kernel/fs/overlayfs/overlay.ko"));
  }
  return {"overlayfs", known, known ? "containerd's overlayfs snapshotter can mount image layers" : "no overlay filesystem: containerd's default snapshotter fails", false};
}

}  // namespace

std::vector<CheckItem> CheckGuestKernelConfig(const std::string& config_path,
                                              const std::vector<std::string>& initrd_modules) {
  auto text = ReadFileToString(config_path, 1 << 22);
  if (!text.ok()) {
    return {{"guest kernel options", false,
             StrCat(config_path, " is missing: cannot tell (rootfs-builder/build-image writes it)"), false}};
  }
  const std::set<std::string, std::less<>> modules(initrd_modules.begin(), initrd_modules.end());
  std::string required, optional;
  for (const auto& s : kernel::ConfigShortfalls(kernel::ParseKernelConfig(*text), modules)) {
    std::string& list = s.requirement->required ? required : optional;
    list += StrCat(list.empty() ? "" : "; ", kernel::Describe(*s.requirement), ": ", s.detail);
  }
  return {
      {"guest kernel options", required.empty(),
       required.empty() ? StrCat(config_path, ": every option the agent needs") : StrCat(config_path, ": ", required)},
      {"guest kernel optional options", optional.empty(),
       optional.empty() ? "all present" : StrCat(config_path, ": ", optional), false},
  };
}

absl::StatusOr<std::vector<std::string>> InitrdModules(const std::string& initrd) {
  auto head = ReadFileToString(initrd, 256u << 20);
  if (!head.ok()) return head.status();
  std::vector<std::string> tool;
  if (head->starts_with("\x28\xb5\x2f\xfd")) {
    tool = {"/usr/bin/zstd", "-dcq", initrd};
  } else if (head->starts_with("\x1f\x8b")) {
    tool = {"/usr/bin/gzip", "-dc", initrd};
  } else if (!head->starts_with("070701")) {
    return absl::InvalidArgumentError(StrCat(initrd, ": neither zstd, gzip nor an uncompressed cpio archive"));
  }
  std::string archive;
  if (tool.empty()) {
    archive = std::move(*head);
  } else {
    auto out = RunCommand(tool, absl::Seconds(30), 1u << 30);
    if (!out.ok()) return out.status();
    if (out->exit_code != 0) return absl::InvalidArgumentError(StrCat(tool[0], " could not decompress ", initrd));
    archive = std::move(out->output);
  }
  auto order = NewcEntry(archive, "lib/modules/load-order");
  if (absl::IsNotFound(order.status())) return std::vector<std::string>{};  // no modules at all
  if (!order.ok()) return absl::Status(order.status().code(), StrCat(initrd, ": ", order.status().message()));
  // Lines are "name.ko [condition]".
  std::vector<std::string> modules;
  for (absl::string_view line : absl::StrSplit(*order, '\n', absl::SkipEmpty())) {
    modules.emplace_back(line.substr(0, line.find(' ')));
  }
  return modules;
}

std::vector<CheckItem> CheckHost(const config::Config& config) {
  const auto& hv = config.hypervisor;
  std::vector<CheckItem> items;
  items.push_back(CheckQemu(hv));
  items.push_back(CheckVmdk(hv));
  items.push_back(CheckVirtfs(hv));

  const bool kernel = IsFile(hv.kernel);
  const bool initrd = IsFile(hv.initrd);
  items.push_back({"guest kernel", kernel, kernel ? hv.kernel : StrCat(hv.kernel, " is missing (rootfs-builder/build-image)")});
  items.push_back({"guest initrd", initrd, initrd ? hv.initrd : StrCat(hv.initrd, " is missing (rootfs-builder/build-image)")});

  std::string why;
  const bool kvm_device = KvmDeviceUsable(&why);
  items.push_back({"/dev/kvm", kvm_device, why, false});
  if (items[0].ok && kernel) {
    auto decision = ResolveAccel(hv, StrCat(config.runtime.state_dir, "/accel-probe"));
    if (decision.ok()) {
      const bool kvm = decision->accel == config::Accel::kKvm;
      items.push_back({kvm ? "accelerator: KVM" : "accelerator: TCG fallback", true, decision->reason});
    } else {
      items.push_back({"accelerator", false, std::string(decision.status().message())});
    }
  }
  // Pods' networks (a spec naming a network namespace): taps joined to the pod's links by tc.
  const HostNetworkSupport net = ProbeHostNetworking();
  items.push_back({"network: tun/tap", net.tap.ok(), net.tap.ok() ? "a tap from /dev/net/tun" : std::string(net.tap.message())});
  items.push_back({"network: tc mirred", net.tc_mirred.ok(),
                   net.tc_mirred.ok() ? "sch_ingress, cls_u32 and act_mirred redirect between two taps"
                                      : StrCat(net.tc_mirred.message(), " (sch_ingress, cls_u32, act_mirred)")});
  items.push_back({"vhost-net", net.vhost_net,
                   net.vhost_net ? "/dev/vhost-net: NIC packets moved by the kernel" : "no /dev/vhost-net: QEMU moves NIC packets (slower)",
                   false});
  // What containerd's CRI needs of the host for pods.
  items.push_back(CheckCgroups());
  items.push_back(CheckCniPlugins());
  items.push_back(CheckOverlayfs());
  const bool vsock = ::access("/dev/vhost-vsock", R_OK | W_OK) == 0;
  items.push_back({"vhost-vsock", vsock, vsock ? "/dev/vhost-vsock: agent over vsock" : "no /dev/vhost-vsock: agent over virtio-serial", false});
  if (kernel && initrd) {
    auto modules = InitrdModules(hv.initrd);
    if (!modules.ok()) {
      items.push_back({"guest initrd modules", false, std::string(modules.status().message())});
    } else {
      for (auto& item : CheckGuestKernelConfig(hv.kernel + ".config", *modules)) items.push_back(std::move(item));
    }
  }
  return items;
}

}  // namespace kata::runtime
