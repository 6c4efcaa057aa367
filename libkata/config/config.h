#pragma once

// The runtime's YAML configuration. Every key has a default (docs/configuration.md); unknown
// keys and wrong types are errors naming the key and its line.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkata/config/arch.h"
#include "libkata/log/log.h"

namespace kata::config {

enum class Accel { kAuto, kKvm, kTcg };
enum class AgentChannel { kAuto, kVsock, kSerial, kUnix };

std::string_view AccelName(Accel a);
std::string_view AgentChannelName(AgentChannel c);

struct HypervisorConfig {
  std::string path = "/usr/bin/qemu-system-x86_64";
  std::string kernel = "/usr/share/kata-cpp/vmlinux";
  std::string initrd = "/usr/share/kata-cpp/kata-initrd.img";
  std::string firmware = "/usr/share/qemu/qboot.rom";  // empty: QEMU's default (SeaBIOS)
  std::string machine_type = "q35";
  uint64_t memory_mib = 2048;   // aligned for the architecture after loading
  uint32_t vcpus = 1;
  // Hot-plug bounds: the VM grows to its containers' CPU and memory limits up to these.
  // 0 means the host's: its online CPUs, its memory (as Kata's default_maxvcpus/maxmemory).
  uint32_t max_vcpus = 0;
  uint64_t max_memory_mib = 0;
  uint32_t memory_slots = 10;  // DIMMs that can be hot-plugged; 0: no memory hot-plug
  Accel accel = Accel::kAuto;
  std::string kernel_params;    // appended to the runtime's own parameters
  std::string block_driver = "virtio-blk-pci";
  std::string shared_fs = "virtio-9p";  // virtio-9p | none: how directory rootfs reach the guest
  uint32_t hotplug_root_ports = 4;
  absl::Duration boot_timeout = absl::Seconds(30);  // QEMU start -> agent answering (TCG boots take seconds)
};

struct AgentConfig {
  AgentChannel channel = AgentChannel::kAuto;
  absl::Duration hotplug_timeout = absl::Seconds(3);
  absl::Duration dial_timeout = absl::Seconds(3);
  // How long the runtime waits for CreateContainer (device waits and mounts included) before
  // it gives up, removes the container in the guest and detaches its disks.
  absl::Duration create_container_timeout = absl::Seconds(60);
  // Kata's disable_guest_seccomp: true drops linux.seccomp from the spec the guest gets.
  // Off here (Kata defaults to on): the agent applies the profile as runc would.
  bool disable_guest_seccomp = false;
};

struct RuntimeConfig {
  log::Level log_level = log::Level::kInfo;
  std::string state_dir = "/run/kata-cpp";
};

struct Config {
  HypervisorConfig hypervisor;
  AgentConfig agent;
  RuntimeConfig runtime;
};

// Parses YAML text; `source` names it in errors ("config.yaml:12: hypervisor.vcpus: ...").
// An empty document gives the defaults. Memory is aligned for `arch`.
absl::StatusOr<Config> ParseConfigYaml(std::string_view text, std::string_view source,
                                       Arch arch = HostArch());

absl::StatusOr<Config> LoadConfig(const std::string& path, Arch arch = HostArch());

// The effective configuration as YAML, every key present (what `kata-runtime config` shows).
std::string ConfigToYaml(const Config& config);

}  // namespace kata::config
