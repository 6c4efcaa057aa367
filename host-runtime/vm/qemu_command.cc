#include "host-runtime/vm/qemu_command.h"

#include <algorithm>
#include <cctype>

#include "fmt/format.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/net/ip_address.h"

namespace kata::runtime {
namespace {

// Kata's boot-time parameters, and two more measured here (jitterentropy's init took
// 250 ms; mitigations cost nothing to skip in a single-tenant guest).
constexpr char kBootParams[] =
    "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 "
    "i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests 8250.nr_uarts=1 pci=lastbus=0 "
    "initcall_blacklist=jent_mod_init mitigations=off";

absl::Status Absolute(std::string_view field, const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find(',') != std::string::npos) {
    // A comma would split QEMU's own option syntax.
    return absl::InvalidArgumentError(StrCat(field, " \"", path, "\" must be an absolute path without commas"));
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t LaunchRootPorts(uint32_t hotplug_root_ports, size_t cold_plugged_disks) {
  return hotplug_root_ports + static_cast<uint32_t>(std::min<size_t>(cold_plugged_disks, kMaxRootPorts + 1));
}

std::string RootPortId(uint32_t index) { return StrCat("rp", index); }
uint32_t RootPortSlot(uint32_t index) { return 2 + index; }

std::string GuestKernelCommandLine(const VmLaunch& l) {
  // Every boot message crosses the emulated UART: quiet saves about 100 ms per boot under TCG
  // (bench/README.md). A panic still prints (its level is above quiet's); debug shows all.
  const char* quiet = l.agent_log_level == log::Level::kDebug ? "" : "quiet ";
  std::string line = StrCat("console=ttyS0 ", quiet, "panic=1 ", kBootParams, " agent.channel=", config::AgentChannelName(l.channel),
                            " agent.log=", log::LevelName(l.agent_log_level),
                            " agent.hotplug_timeout=", absl::ToInt64Milliseconds(l.agent.hotplug_timeout), "ms");
  if (l.max_vcpus > l.hypervisor.vcpus) line += StrCat(" maxcpus=", l.hypervisor.vcpus);  // the rest start offline
  if (!l.hypervisor.kernel_params.empty()) line += " " + l.hypervisor.kernel_params;
  return line;
}

absl::StatusOr<std::vector<std::string>> BuildQemuCommand(const VmLaunch& l) {
  const auto& hv = l.hypervisor;
  RETURN_IF_ERROR(ValidateId("sandbox id", l.sandbox_id));
  RETURN_IF_ERROR(Absolute("hypervisor.path", hv.path));
  RETURN_IF_ERROR(Absolute("hypervisor.kernel", hv.kernel));
  RETURN_IF_ERROR(Absolute("hypervisor.initrd", hv.initrd));
  RETURN_IF_ERROR(Absolute("QMP socket", l.qmp_socket));
  RETURN_IF_ERROR(Absolute("console log", l.console_log));
  if (!hv.firmware.empty()) RETURN_IF_ERROR(Absolute("firmware", hv.firmware));
  if (l.accel == config::Accel::kAuto) return absl::InvalidArgumentError("accel must be resolved to kvm or tcg first");
  if (hv.vcpus == 0 || hv.memory_mib == 0) return absl::InvalidArgumentError("vcpus and memory_mib must be set");
  const uint32_t root_ports = LaunchRootPorts(hv.hotplug_root_ports, l.disks.size());
  if (root_ports > kMaxRootPorts) {
    return absl::InvalidArgumentError(StrCat("hotplug_root_ports (", hv.hotplug_root_ports, ") plus ", l.disks.size(),
                                             " disk(s) cold-plugged at boot is above ", kMaxRootPorts));
  }
  const bool kvm = l.accel == config::Accel::kKvm;
  // Every vCPU the VM may grow to is there from the start, offline beyond `vcpus` (the
  // kernel's maxcpus=, GuestKernelCommandLine): an offline vCPU's thread only waits, and the
  // agent onlines it. DIMM slots are only address space until memory is plugged into them.
  const std::string smp = StrCat(std::max(hv.vcpus, l.max_vcpus));
  std::string memory = StrCat(hv.memory_mib, "M");
  if (l.memory_slots > 0 && l.max_memory_mib > hv.memory_mib) {
    memory += StrCat(",slots=", l.memory_slots, ",maxmem=", l.max_memory_mib, "M");
  }

  std::vector<std::string> argv = {
      hv.path,
      "-name", StrCat("sandbox-", l.sandbox_id),
      "-machine", StrCat(hv.machine_type, ",accel=", kvm ? "kvm" : "tcg"),
      "-cpu", kvm ? "host" : "max",
      "-m", memory,
      "-smp", smp,
      "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
      "-kernel", hv.kernel,
      "-initrd", hv.initrd,
      "-append", GuestKernelCommandLine(l),
      "-qmp", StrCat("unix:", l.qmp_socket, ",server=on,wait=off"),
      "-serial", StrCat("file:", l.console_log),
  };
  if (!hv.firmware.empty()) {
    argv.push_back("-bios");
    argv.push_back(hv.firmware);
  }
  // Hot-plug needs root ports cold-plugged at launch: pcie.0 itself refuses it on q35.
  for (uint32_t i = 0; i < root_ports; ++i) {
    argv.push_back("-device");
    argv.push_back(fmt::format("pcie-root-port,id={},bus=pcie.0,chassis={},slot={},addr={:#x}", RootPortId(i), i + 1, i,
                               RootPortSlot(i)));
  }
  for (size_t i = 0; i < l.disks.size(); ++i) {
    const VmDisk& d = l.disks[i];
    // A disk straight on pcie.0 could never be unplugged: it must sit on one of the root ports.
    const std::string bus = d.device.is_object() ? d.device.value("bus", "") : "";
    bool on_port = false;
    for (uint32_t p = 0; p < root_ports; ++p) on_port = on_port || bus == RootPortId(p);
    if (!d.blockdev.is_object() || !on_port) {
      return absl::InvalidArgumentError(StrCat("disk ", i, ": bus \"", bus, "\" is not one of the ", root_ports, " root ports"));
    }
    argv.insert(argv.end(), {"-blockdev", d.blockdev.dump(), "-device", d.device.dump()});
  }
  if (hv.shared_fs == "virtio-9p") {
    RETURN_IF_ERROR(Absolute("shared directory", l.shared_dir));
    // security_model=none: the guest sees the host's owners and modes as they are (the
    // runtime runs as root); multidevs=remap keeps inode numbers unique across the mounts
    // under the share (overlay rootfs next to each other).
    argv.insert(argv.end(), {"-fsdev", StrCat("local,id=sharedfs,path=", l.shared_dir, ",security_model=none,multidevs=remap"),
                             "-device", StrCat("virtio-9p-pci,fsdev=sharedfs,mount_tag=", kSharedFsTag)});
  }
  for (size_t i = 0; i < l.nics.size(); ++i) {
    const VmNic& n = l.nics[i];
    const bool good_id = !n.id.empty() && n.id.size() <= 32 &&
                         std::all_of(n.id.begin(), n.id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
    if (!good_id) return absl::InvalidArgumentError(StrCat("nic ", i, ": id \"", n.id, "\" is not 1 to 32 letters, digits or '-'"));
    if (!net::ParseMacAddress(n.mac, StrCat("nic ", i, " mac")).ok()) {
      return absl::InvalidArgumentError(StrCat("nic ", i, ": mac \"", n.mac, "\" is not a MAC address"));
    }
    if (n.tap_fd < 3) return absl::InvalidArgumentError(StrCat("nic ", i, ": tap fd ", n.tap_fd, " is not an inherited fd (>= 3)"));
    std::string netdev = StrCat("tap,id=", n.id, ",fd=", n.tap_fd);
    if (n.vhost_fd >= 3) netdev += StrCat(",vhost=on,vhostfd=", n.vhost_fd);
    // No ROM: the guest boots by PVH, never from the network.
    argv.insert(argv.end(), {"-netdev", netdev, "-device", StrCat("virtio-net-pci,netdev=", n.id, ",mac=", n.mac, ",romfile=")});
  }
  switch (l.channel) {
    case config::AgentChannel::kSerial:
      RETURN_IF_ERROR(Absolute("agent socket", l.agent_socket));
      argv.insert(argv.end(), {"-device", "virtio-serial-pci,id=vser0", "-chardev",
                               StrCat("socket,id=agentch,path=", l.agent_socket, ",server=on,wait=off"), "-device",
                               StrCat("virtserialport,bus=vser0.0,chardev=agentch,name=", kAgentPortName)});
      break;
    case config::AgentChannel::kVsock:
      if (l.guest_cid < 3) return absl::InvalidArgumentError(StrCat("guest CID ", l.guest_cid, " is reserved (want >= 3)"));
      argv.insert(argv.end(), {"-device", StrCat("vhost-vsock-pci,id=vsock0,guest-cid=", l.guest_cid)});
      break;
    default:
      return absl::InvalidArgumentError(StrCat("agent channel ", config::AgentChannelName(l.channel),
                                               " cannot be given to a VM (want serial or vsock)"));
  }
  return argv;
}

}  // namespace kata::runtime
