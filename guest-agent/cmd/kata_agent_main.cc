// kata-agent: PID 1 in the guest, serving the agent API. As the VM's /init it mounts the early
// filesystems, loads the image's modules, reads agent.* from the kernel command line and
// serves on vsock or virtio-serial. Run by hand (as root) it serves a sandbox under
// --sandbox-dir on --listen, which is how the tests drive it on the host.

#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "guest-agent/common/loopback.h"
#include "guest-agent/device/device_handler.h"
#include "guest-agent/init/boot_params.h"
#include "guest-agent/init/early_mounts.h"
#include "guest-agent/init/kernel_probe.h"
#include "guest-agent/init/leave_initramfs.h"
#include "guest-agent/init/module_loader.h"
#include "guest-agent/network/guest_network.h"
#include "guest-agent/sandbox/agent_metrics.h"
#include "guest-agent/sandbox/sandbox.h"
#include "guest-agent/server/agent_server.h"
#include "guest-agent/server/agent_service.h"
#include "guest-agent/server/channel_select.h"
#include "guest-agent/storage/builtin_handlers.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "guest-agent/uevent/uevent_monitor.h"
#include "kata_version.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/safe_path/safe_path.h"

namespace {

using namespace kata::guest;

struct Flags {
  std::string listen;  // empty: the VM's channel (auto)
  ChannelKind channel = ChannelKind::kAuto;
  std::string sandbox_dir = "/run/kata-containers";
  std::string log_level = "info";
  absl::Duration hotplug_timeout = absl::Seconds(3);
  // Containers' cgroups go below it. PID 1 uses /sys/fs/cgroup/kata (the agent mounts
  // cgroup2 there); run by hand, the agent leaves the host's cgroups alone unless told.
  std::string cgroup_root;
};

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: kata-agent [--listen unix:PATH|vsock:PORT|serial:DEVICE] [--sandbox-dir DIR]\n"
               "                  [--log-level LEVEL] [--hotplug-timeout DURATION] [--cgroup-root DIR]\n"
               "                  | --version\n"
               "As PID 1 it takes agent.log=, agent.channel=auto|serial|vsock and\n"
               "agent.hotplug_timeout= from the kernel command line instead.\n");
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "kata-agent: %s\n", what.c_str());
  return 1;
}

// The VM's /init duties before serving. Errors here end PID 1, so the kernel panics, QEMU
// exits (panic=1, -no-reboot) and the runtime reports this message from the console log.
absl::Status InitVm(Flags& flags, const kata::log::Subsystem& log) {
  const absl::Time start = absl::Now();
  if (auto s = MountEarlyFilesystems(); !s.ok()) return s;
  const absl::Time mounted = absl::Now();
  auto cmdline = kata::ReadFileToString("/proc/cmdline");
  if (!cmdline.ok()) return cmdline.status();
  auto params = ParseBootParams(*cmdline);
  if (!params.ok()) return params.status();
  if (params->log_level) {
    auto level = kata::log::ParseLevel(*params->log_level);
    if (level.ok()) kata::log::Logger::Global().SetLevel(*level);
  }
  flags.channel = params->channel;
  if (params->hotplug_timeout) flags.hotplug_timeout = *params->hotplug_timeout;
  // Our minimal kernel has everything built in: without a load order there is nothing to
  // load, and the walk of the virtio bus is skipped too.
  const bool has_modules = ::access("/lib/modules/load-order", F_OK) == 0;
  auto modules = has_modules ? LoadModules("/lib/modules", VirtioDeviceIds()) : absl::StatusOr<ModuleLoadReport>(ModuleLoadReport{});
  if (!modules.ok()) return modules.status();
  for (const std::string& failure : modules->failures) log.Warn("module failed to load", {{"error", failure}});
  const absl::Time modules_done = absl::Now();
  if (auto s = LeaveInitramfs(); !s.ok()) return s;
  const absl::Time left = absl::Now();
  log.Info("vm initialised", {{"modules_loaded", static_cast<int64_t>(modules->loaded.size())},
                              {"modules_failed", static_cast<int64_t>(modules->failures.size())},
                              {"modules_skipped", static_cast<int64_t>(modules->skipped.size())},
                              {"ms", absl::ToInt64Milliseconds(absl::Now() - start)},
                              // where it went (bench/README.md: where the agent's start goes)
                              {"mounts_ms", absl::ToDoubleMilliseconds(mounted - start)},
                              {"modules_ms", absl::ToDoubleMilliseconds(modules_done - mounted)},
                              {"leave_initramfs_ms", absl::ToDoubleMilliseconds(left - modules_done)}});
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Listener>> OpenListener(const Flags& flags) {
  if (flags.listen.empty()) return OpenGuestChannel(flags.channel, absl::Seconds(5));
  if (flags.listen.starts_with("unix:")) return ListenUnix(flags.listen.substr(5));
  if (flags.listen.starts_with("serial:")) return ListenSerial(flags.listen.substr(7));
  if (flags.listen.starts_with("vsock:")) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(flags.listen.substr(6), &port)) return absl::InvalidArgumentError("--listen vsock:PORT wants a number");
    return ListenVsock(port);
  }
  return absl::InvalidArgumentError(kata::StrCat("--listen ", flags.listen, ": want unix:PATH, vsock:PORT or serial:DEVICE"));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--version" || a == "-V") {
      std::printf("kata-agent %s\n", KATA_VERSION);
      return 0;
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a == "--listen") {
      flags.listen = value();
    } else if (a == "--sandbox-dir") {
      flags.sandbox_dir = value();
    } else if (a == "--log-level") {
      flags.log_level = value();
    } else if (a == "--cgroup-root") {
      flags.cgroup_root = value();
    } else if (a == "--hotplug-timeout") {
      if (!absl::ParseDuration(value(), &flags.hotplug_timeout)) return Fail("--hotplug-timeout wants a duration such as 3s");
    } else {
      Usage(stderr);
      return 2;
    }
  }
  // One malloc arena: glibc gives each thread that allocates an arena of its own (up to 8 per
  // core), and the agent's threads are mostly idle, so arenas were resident memory for nothing.
  ::mallopt(M_ARENA_MAX, 1);
  // Before any thread: SIGCHLD goes to the reaper's signalfd, SIGTERM/SIGINT to sigwait here.
  Reaper::BlockSigchld();
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A write to a pipe whose reader is gone (an exited process's stdin) must be EPIPE for the
  // caller, not the agent's end. Container processes get SIGPIPE back (child_steps).
  ::signal(SIGPIPE, SIG_IGN);
  const bool is_init = ::getpid() == 1;
  // Not PID 1 (tests): adopt orphans, so exec'd processes whose forking parent exited are ours.
  if (!is_init) ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  auto level = kata::log::ParseLevel(flags.log_level);
  if (!level.ok()) return Fail(std::string(level.status().message()));
  kata::log::Logger::Global().SetLevel(*level);
  kata::log::Logger::Global().SetCommonField({"pid", static_cast<int64_t>(::getpid())});
  const kata::log::Subsystem log("agent");
  log.Debug("open file limit", {{"soft", static_cast<int64_t>(RaiseOpenFileLimit())}});

  const absl::Time start = absl::Now();
  if (is_init) {
    if (auto s = InitVm(flags, log); !s.ok()) return Fail(std::string(s.message()));
  } else if (flags.listen.empty()) {
    flags.listen = "unix:/run/kata-containers/agent.sock";
  }
  const absl::Time init_done = absl::Now();
  if (flags.sandbox_dir.empty() || flags.sandbox_dir.front() != '/') return Fail("--sandbox-dir must be absolute");
  if (auto made = kata::safe_path::MkdirAllInRoot("/", flags.sandbox_dir, 0700); !made.ok()) {
    return Fail(std::string(made.status().message()));
  }

  const absl::Time setup_start = absl::Now();
  UeventStore uevents;
  auto monitor = UeventMonitor::Start(uevents);
  const absl::Time monitoring = absl::Now();
  if (!monitor.ok()) log.Warn("no uevent monitor: block devices cannot be awaited", {{"error", std::string(monitor.status().message())}});
  UeventBlockDeviceWaiter block_devices(uevents);
  SyscallMounter mounter;

  StorageHandlerRegistry storage_handlers;
  MultiLayerErofsHandler multi_layer;
  DeviceHandlerRegistry device_handlers;
  for (auto s : {RegisterBuiltinStorageHandlers(storage_handlers, multi_layer),
                 device_handlers.Register(std::make_shared<BlkDeviceHandler>()),
                 device_handlers.Register(std::make_shared<VfioDeviceHandler>()),
                 device_handlers.Register(std::make_shared<GenericDeviceHandler>())}) {
    if (!s.ok()) return Fail(std::string(s.message()));
  }
  StorageManager storages({flags.sandbox_dir, {flags.sandbox_dir}}, storage_handlers, multi_layer, mounter, block_devices);
  auto reaper = Reaper::Start();
  if (!reaper.ok()) return Fail(std::string(reaper.status().message()));

  SandboxOptions options;
  options.sandbox_dir = flags.sandbox_dir;
  options.hotplug_timeout = flags.hotplug_timeout;
  options.is_init = is_init;
  const absl::Time before_cgroups = absl::Now();
  if (flags.cgroup_root.empty() && is_init) flags.cgroup_root = "/sys/fs/cgroup/kata";
  if (!flags.cgroup_root.empty()) {
    auto root = CgroupRoot::Prepare(flags.cgroup_root);
    // Containers still run without one; only their limits and statistics are missing.
    if (!root.ok()) {
      log.Warn("no cgroups for containers", {{"error", std::string(root.status().message())}});
    } else {
      options.cgroup_root = *root;
    }
  }
  const absl::Time cgroups_done = absl::Now();
  Sandbox sandbox(options, storages, device_handlers, block_devices, **reaper);
  const absl::Time set_up = absl::Now();
  // The VM's network namespace is the pod's: its lo is up from boot, as CNI's loopback plugin
  // makes it; the pod's NICs are set up by UpdateInterface.
  if (is_init) {
    if (int err = BringLoopbackUp(); err != 0) log.Warn("lo stays down", {{"error", std::string(std::strerror(err))}});
  }
  GuestNetwork network({.uevents = &uevents, .hotplug_timeout = flags.hotplug_timeout});
  AgentServiceImpl agent_service(sandbox, network, storage_handlers.Names(), device_handlers.Names());
  auto ttrpc_server = std::make_unique<kata::ttrpc::Server>();
  RegisterAgentApi(*ttrpc_server, agent_service);

  auto listener = OpenListener(flags);
  if (!listener.ok()) return Fail(std::string(listener.status().message()));
  auto server = AgentServer::Start(std::move(ttrpc_server), std::move(*listener));
  if (!server.ok()) return Fail(std::string(server.status().message()));
  // Where the agent's start goes (vm-boot-bench reads this line from the console): /init's
  // duties, the agent's own setup, the channel; and when, in the guest's time since boot.
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  log.Info("agent ready", {{"init_ms", absl::ToInt64Milliseconds(init_done - start)},
                           {"setup_ms", absl::ToInt64Milliseconds(set_up - init_done)},
                           {"listen_ms", absl::ToInt64Milliseconds(absl::Now() - set_up)},
                           {"uevent_monitor_ms", absl::ToDoubleMilliseconds(monitoring - setup_start)},
                           {"cgroup_root_ms", absl::ToDoubleMilliseconds(cgroups_done - before_cgroups)},
                           {"since_boot_ms", static_cast<int64_t>(boot.tv_sec) * 1000 + boot.tv_nsec / 1000000}});

  // A kernel built without what the agent needs fails later, in one container's request; say
  // it here too, by option name. Once serving: the probe took ~19 ms of a TCG guest's start.
  if (is_init) {
    for (const std::string& lack : KernelLacks()) log.Warn("guest kernel lacks an option", {{"option", lack}});
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.Info("stopping", {{"signal", sig}});
  // The containers go first: a WaitProcess still running returns once its process is gone,
  // so the server's shutdown has no handler left to wait for.
  (void)sandbox.DestroySandbox();
  (*server)->Shutdown();
  return 0;
}
