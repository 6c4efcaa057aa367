// kata-agent: PID 1 in the guest, serving the agent API. Run by hand (as root) it serves a
// sandbox under --sandbox-dir, which is how the tests drive it on the host.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "guest-agent/device/device_handler.h"
#include "guest-agent/sandbox/sandbox.h"
#include "guest-agent/server/agent_server.h"
#include "guest-agent/server/agent_service.h"
#include "guest-agent/storage/blk_handler.h"
#include "guest-agent/storage/ephemeral_handler.h"
#include "guest-agent/storage/local_handler.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "guest-agent/uevent/uevent_monitor.h"
#include "kata_version.h"
#include "libkata/log/log.h"
#include "libkata/safe_path/safe_path.h"

namespace {

using namespace kata::guest;

struct Flags {
  std::string listen = "unix:/run/kata-containers/agent.sock";
  std::string sandbox_dir = "/run/kata-containers";
  std::string log_level = "info";
  absl::Duration hotplug_timeout = absl::Seconds(3);
};

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: kata-agent [--listen unix:PATH] [--sandbox-dir DIR] [--log-level LEVEL]\n"
               "                  [--hotplug-timeout DURATION] | --version\n");
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "kata-agent: %s\n", what.c_str());
  return 1;
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
    } else if (a == "--hotplug-timeout") {
      if (!absl::ParseDuration(value(), &flags.hotplug_timeout)) return Fail("--hotplug-timeout wants a duration such as 3s");
    } else {
      Usage(stderr);
      return 2;
    }
  }
  // Before any thread: SIGCHLD goes to the reaper's signalfd, SIGTERM/SIGINT to sigwait here.
  Reaper::BlockSigchld();
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const bool is_init = ::getpid() == 1;
  // Not PID 1 (tests): adopt orphans, so exec'd processes whose forking parent exited are ours.
  if (!is_init) ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  auto level = kata::log::ParseLevel(flags.log_level);
  if (!level.ok()) return Fail(std::string(level.status().message()));
  kata::log::Logger::Global().SetLevel(*level);
  kata::log::Logger::Global().SetCommonField({"pid", static_cast<int64_t>(::getpid())});
  const kata::log::Subsystem log("agent");

  if (!flags.listen.starts_with("unix:")) return Fail("--listen takes unix:PATH (vsock and serial come with the VM)");
  if (flags.sandbox_dir.empty() || flags.sandbox_dir.front() != '/') return Fail("--sandbox-dir must be absolute");
  if (auto made = kata::safe_path::MkdirAllInRoot("/", flags.sandbox_dir, 0700); !made.ok()) {
    return Fail(std::string(made.status().message()));
  }

  UeventStore uevents;
  auto monitor = UeventMonitor::Start(uevents);
  if (!monitor.ok()) log.Warn("no uevent monitor: block devices cannot be awaited", {{"error", std::string(monitor.status().message())}});
  UeventBlockDeviceWaiter block_devices(uevents);
  SyscallMounter mounter;

  StorageHandlerRegistry storage_handlers;
  MultiLayerErofsHandler multi_layer;
  DeviceHandlerRegistry device_handlers;
  for (auto s : {storage_handlers.Register(std::make_shared<BlkStorageHandler>()),
                 storage_handlers.Register(std::make_shared<LocalStorageHandler>()),
                 storage_handlers.Register(std::make_shared<EphemeralStorageHandler>()),
                 storage_handlers.Register(std::shared_ptr<StorageHandler>(&multi_layer, [](StorageHandler*) {})),
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
  Sandbox sandbox(options, storages, device_handlers, block_devices, **reaper);
  AgentServiceImpl agent_service(sandbox, storage_handlers.Names(), device_handlers.Names());
  HealthServiceImpl health_service;

  auto listener = ListenUnix(flags.listen.substr(5));
  if (!listener.ok()) return Fail(std::string(listener.status().message()));
  auto server = AgentServer::Start({&agent_service, &health_service}, std::move(*listener));
  if (!server.ok()) return Fail(std::string(server.status().message()));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.Info("stopping", {{"signal", sig}});
  (*server)->Shutdown();
  (void)sandbox.DestroySandbox();
  return 0;
}
