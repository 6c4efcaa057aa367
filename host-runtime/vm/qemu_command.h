#pragma once

// The QEMU command line for a sandbox's VM, decided from the configuration alone (pure).
// What it boots with follows ../shared/reference/guest-boot-and-channel.md: q35, PVH vmlinux,
// optional qboot firmware, cold-plugged pcie-root-ports for hot-plug, QMP on a unix socket,
// the serial console to a file, and the agent channel (virtio-serial or vhost-vsock).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libkata/config/config.h"
#include "nlohmann/json.hpp"

namespace kata::runtime {

// A disk on QEMU's command line: the same blockdev-add and device_add arguments a hot-plug
// sends over QMP, as JSON (QEMU >= 6.2 takes JSON for -blockdev and -device).
struct VmDisk {
  nlohmann::json blockdev;
  nlohmann::json device;  // on a root port (its "bus"), so it can be unplugged like a hot-plugged one
};

// A NIC on QEMU's command line: a tap the runtime opened (and /dev/vhost-net, when the host
// has it), passed to QEMU as inherited fds, and a virtio-net-pci device with the pod link's
// MAC.
struct VmNic {
  std::string id;     // netdev id, "net<i>"
  std::string mac;    // xx:xx:xx:xx:xx:xx
  int tap_fd = -1;    // as QEMU sees it (the same number in the runtime)
  int vhost_fd = -1;  // -1: virtio-net in QEMU's userspace
};

struct VmLaunch {
  std::string sandbox_id;
  config::HypervisorConfig hypervisor;
  config::Accel accel = config::Accel::kTcg;                       // resolved: kvm or tcg
  config::AgentChannel channel = config::AgentChannel::kSerial;    // resolved: serial or vsock
  uint32_t guest_cid = 0;          // vsock only (>= 3)
  std::string qmp_socket;          // absolute paths under the sandbox's state dir
  std::string console_log;
  std::string agent_socket;        // serial: the host end of the agent's port
  std::string shared_dir;          // hypervisor.shared_fs virtio-9p: the directory shared
  config::AgentConfig agent;       // hotplug_timeout goes to the agent
  log::Level agent_log_level = log::Level::kInfo;
  std::vector<VmDisk> disks;       // cold-plugged: there when the guest boots
  std::vector<VmNic> nics;         // cold-plugged too
  // Room to grow (ResolveVmSizeBounds): max_vcpus present with `vcpus` of them online, and
  // memory_slots DIMMs up to max_memory_mib. None when a maximum is not above the boot size.
  uint32_t max_vcpus = 0;
  uint64_t max_memory_mib = 0;
  uint32_t memory_slots = 0;
};

// The virtio-9p mount tag of the shared directory.
inline constexpr char kSharedFsTag[] = "kataShared";

// The port name the agent looks for in /sys/class/virtio-ports/*/name.
inline constexpr char kAgentPortName[] = "agent.channel.0";

// The guest kernel's command line: console, Kata's boot-time parameters (each one measured
// to matter under TCG, see the reference), the agent's settings (agent.channel, agent.log,
// agent.hotplug_timeout), then hypervisor.kernel_params, which come last so a user's setting
// wins.
std::string GuestKernelCommandLine(const VmLaunch& launch);

// argv for QEMU (argv[0] is hypervisor.path). InvalidArgument naming the field for a
// relative path, an unresolved accel/channel, a bad sandbox id or guest CID, a disk not on
// one of the root ports.
absl::StatusOr<std::vector<std::string>> BuildQemuCommand(const VmLaunch& launch);

// At most this many root ports: hypervisor.hotplug_root_ports plus one per disk cold-plugged at
// boot (slots 2..33 of pcie.0).
inline constexpr uint32_t kMaxRootPorts = 32;

// Root ports at launch: hotplug_root_ports stay free for hot-plug; each disk cold-plugged at
// boot has one more of its own (ports 0.. go to those disks).
uint32_t LaunchRootPorts(uint32_t hotplug_root_ports, size_t cold_plugged_disks);

// Root port i: id "rp<i>", at slot 2 + i of pcie.0 (slots 0 and 1 are the host bridge's and
// the VGA-less default's), so a device hot-plugged on it has PCI path "<slot>/00".
std::string RootPortId(uint32_t index);
uint32_t RootPortSlot(uint32_t index);

}  // namespace kata::runtime
