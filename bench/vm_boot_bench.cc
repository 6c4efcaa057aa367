// vm-boot-bench: how long a sandbox VM takes, next to what the kernel and QEMU alone take.
//   floor:   QEMU start -> QEMU exit, same kernel and QEMU flags, an initrd whose /init
//            powers off at once (the least any guest can cost here);
//   agent:   QEMU start -> Health.Check answered (SandboxVm::Start, the real path);
//   hotplug: device_add -> the agent has the device (CreateContainer's wait by PCI path).
// Usage: vm-boot-bench --image DIR [--runs N] [--firmware PATH|none] [--kernel PATH] [--shared-fs virtio-9p|none]

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "host-runtime/vm/qemu_command.h"
#include "host-runtime/vm/qemu_process.h"
#include "host-runtime/vm/sandbox_vm.h"
#include "host-runtime/vm/vm_size.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/agent_api/agent_api.h"
#include "bench/bench_support.h"

namespace {

using kata::StrCat;

// A newc cpio holding one executable, /init.
std::string CpioWithInit(const std::string& init) {
  std::string out;
  auto entry = [&](const std::string& name, unsigned mode, const std::string& data, unsigned ino) {
    char header[111];
    std::snprintf(header, sizeof(header), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", ino, mode, 0u,
                  0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u, name.size() + 1, 0u);
    out += header;
    out += name;
    out.push_back('\0');
    out.resize((out.size() + 3) & ~size_t{3}, '\0');
    out += data;
    out.resize((out.size() + 3) & ~size_t{3}, '\0');
  };
  entry("init", 0100755, init, 1);
  entry("TRAILER!!!", 0, "", 0);
  return out;
}

using kata::bench::Stats;

int Fail(const std::string& what) {
  std::fprintf(stderr, "vm-boot-bench: %s\n", what.c_str());
  return 1;
}

// The agent's "agent ready" log line in the console: `field`'s number, or -1.
double AgentReadyField(const std::string& console, const std::string& field) {
  const size_t line = console.find("\"msg\":\"agent ready\"");
  if (line == std::string::npos) return -1;
  const std::string key = "\"" + field + "\":";
  const size_t at = console.find(key, line);
  if (at == std::string::npos) return -1;
  return std::atof(console.c_str() + at + key.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string image, firmware = "/usr/share/qemu/qboot.rom", kernel, shared_fs = "virtio-9p", kernel_params;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--image") image = v, ++i;
    else if (a == "--runs") runs = std::atoi(v.c_str()), ++i;
    else if (a == "--firmware") firmware = v == "none" ? "" : v, ++i;
    else if (a == "--kernel") kernel = v, ++i;
    else if (a == "--shared-fs") shared_fs = v, ++i;
    else if (a == "--kernel-params") kernel_params = v, ++i;
    else return Fail("usage: vm-boot-bench --image DIR [--runs N] [--firmware PATH|none] [--kernel PATH] [--shared-fs virtio-9p|none]"
                     " [--kernel-params PARAMS]");
  }
  if (image.empty() || runs < 1) return Fail("--image DIR (rootfs-builder's --out) is required");
  image = std::filesystem::absolute(image).lexically_normal().string();
  if (!kernel.empty()) kernel = std::filesystem::absolute(kernel).lexically_normal().string();
  char tmpl[] = "/tmp/vm-boot-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Fail("mkdtemp failed");
  const std::string dir = tmpl;

  kata::config::Config config;
  config.hypervisor.kernel = kernel.empty() ? image + "/vmlinux" : kernel;
  config.hypervisor.initrd = image + "/kata-initrd.img";
  config.hypervisor.firmware = firmware;
  config.hypervisor.shared_fs = shared_fs;
  config.hypervisor.memory_mib = 512;
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.runtime.state_dir = dir + "/state";
  config.hypervisor.kernel_params = kernel_params;
  // The agent logs at the runtime's default level, as it does in use (its lines go over the
  // emulated serial console); the bench's own logger stays quiet.
  config.runtime.log_level = kata::log::Level::kInfo;
  kata::log::Logger::Global().SetLevel(kata::log::Level::kWarn);

  // The floor: the same command line with the power-off initrd.
  auto init = kata::ReadFileToString(POWEROFF_INIT_BIN, 64u << 20);
  if (!init.ok()) return Fail(std::string(init.status().message()));
  const std::string floor_initrd = dir + "/poweroff-initrd.img";
  if (auto s = kata::WriteFileAtomically(floor_initrd, CpioWithInit(*init)); !s.ok()) return Fail(std::string(s.message()));
  Stats floor, agent, hotplug, guest_ready, agent_init, agent_setup, agent_uevents, agent_cgroups, agent_listen;
  for (int r = 0; r < runs; ++r) {
    kata::runtime::VmLaunch l;
    l.sandbox_id = "floor";
    l.hypervisor = config.hypervisor;
    l.hypervisor.initrd = floor_initrd;
    l.accel = kata::config::Accel::kTcg;
    l.channel = kata::config::AgentChannel::kSerial;
    l.qmp_socket = dir + "/floor-qmp.sock";
    l.console_log = dir + "/floor-console.log";
    l.agent_socket = dir + "/floor-agent.sock";
    // The same vCPUs and memory slots a sandbox gets from this configuration (SandboxVm).
    const auto bounds = kata::runtime::ResolveVmSizeBounds(config.hypervisor, kata::runtime::HostCpuCount().value_or(1),
                                                           kata::runtime::HostMemoryMiB().value_or(0));
    l.max_vcpus = bounds.max_vcpus;
    l.max_memory_mib = bounds.max_memory_mib;
    l.memory_slots = bounds.memory_slots;
    if (shared_fs == "virtio-9p") {
      l.shared_dir = dir + "/floor-shared";  // the same devices as a sandbox, 9p share included
      std::filesystem::create_directories(l.shared_dir);
    }
    auto argv_or = kata::runtime::BuildQemuCommand(l);
    if (!argv_or.ok()) return Fail(std::string(argv_or.status().message()));
    const absl::Time start = absl::Now();
    auto qemu = kata::runtime::QemuProcess::Start({*argv_or, dir + "/floor-qemu.log", l.console_log, nullptr, true, {}});
    if (!qemu.ok()) return Fail(std::string(qemu.status().message()));
    if (absl::IsDeadlineExceeded((*qemu)->WaitExit(absl::Seconds(60)))) return Fail("the floor VM did not power off");
    floor.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  const std::string disk = dir + "/disk.raw";
  if (auto s = kata::WriteFileAtomically(disk, std::string(1 << 20, '\0')); !s.ok()) return Fail(std::string(s.message()));
  for (int r = 0; r < runs; ++r) {
    auto vm = kata::runtime::SandboxVm::Start(StrCat("bench", r), config);
    if (!vm.ok()) return Fail(std::string(vm.status().message()));
    agent.ms.push_back(absl::ToDoubleMilliseconds((*vm)->timings().agent_ready));
    const kata::agent_api::AgentStub stub((*vm)->agent_client());
    {
      kata::agent::CreateSandboxRequest req;
      req.set_sandbox_id("bench");
      google::protobuf::Empty e;
      if (!stub.CreateSandbox(req, &e).ok()) return Fail("CreateSandbox failed");
    }
    auto round_trip = kata::bench::HotplugRoundTrip(**vm, disk);
    if (!round_trip.ok()) return Fail(std::string(round_trip.status().message()));
    hotplug.ms.push_back(absl::ToDoubleMilliseconds(*round_trip));
    // Where the agent's part went, by its own clock (its log line reached the console
    // before it answered Health.Check).
    auto console = kata::ReadFileToString((*vm)->console_log(), 16u << 20);
    if (!console.ok()) return Fail(std::string(console.status().message()));
    const double since_boot = AgentReadyField(*console, "since_boot_ms");
    if (since_boot < 0) return Fail("no \"agent ready\" line in the console log");
    guest_ready.ms.push_back(since_boot);
    agent_init.ms.push_back(AgentReadyField(*console, "init_ms"));
    agent_setup.ms.push_back(AgentReadyField(*console, "setup_ms") + AgentReadyField(*console, "listen_ms"));
    agent_uevents.ms.push_back(AgentReadyField(*console, "uevent_monitor_ms"));
    agent_cgroups.ms.push_back(AgentReadyField(*console, "cgroup_root_ms"));
    agent_listen.ms.push_back(AgentReadyField(*console, "listen_ms"));
  }
  std::printf("kernel %s, firmware %s, shared fs %s, TCG, 1 vCPU, 512 MiB, extra kernel params \"%s\"\n",
              config.hypervisor.kernel.c_str(), firmware.empty() ? "QEMU default (SeaBIOS)" : firmware.c_str(),
              shared_fs.c_str(), kernel_params.c_str());
  std::printf("floor   (QEMU start -> power-off /init done): %s\n", floor.Summary().c_str());
  std::printf("agent   (QEMU start -> Health.Check answered): %s\n", agent.Summary().c_str());
  std::printf("hotplug (device_add -> agent has the device):  %s\n", hotplug.Summary().c_str());
  std::printf("  in the guest: kernel start -> agent serving %s\n", guest_ready.Summary().c_str());
  std::printf("    of which /init's duties (mounts, modules, leaving the initramfs) %s\n", agent_init.Summary().c_str());
  std::printf("    of which the agent's setup and its channel %s\n", agent_setup.Summary().c_str());
  std::printf("      the uevent monitor %s\n", agent_uevents.Summary().c_str());
  std::printf("      the cgroup root %s\n", agent_cgroups.Summary().c_str());
  std::printf("      the channel %s\n", agent_listen.Summary().c_str());
  kata::bench::Report("floor_ms", floor.Median());
  kata::bench::Report("agent_ready_ms", agent.Median());
  kata::bench::Report("hotplug_round_trip_ms", hotplug.Median());
  kata::bench::Report("agent_init_ms", agent_init.Median());
  kata::bench::Report("agent_setup_ms", agent_setup.Median());
  std::string cleanup = "rm -rf " + dir;
  return std::system(cleanup.c_str()) == 0 ? 0 : 1;
}
