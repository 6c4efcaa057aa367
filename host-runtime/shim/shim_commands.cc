#include "host-runtime/shim/shim_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "fmt/format.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/util/time_util.h"
#include "host-runtime/cgroups/host_cgroup.h"
#include "host-runtime/network/pod_network.h"
#include "host-runtime/shim/event_publisher.h"
#include "host-runtime/shim/pod_role.h"
#include "host-runtime/shim/task_service.h"
#include "libkata/ttrpc/server.h"
#include "kata_version.h"
#include "libkata/base/file_util.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/base/unix_socket.h"
#include "libkata/config/config.h"
#include "libkata/log/log.h"
#include "libkata/mount/remove_tree.h"
#include "libkata/oci/spec.h"
#include "protocols/containerd_task.pb.h"

extern char** environ;

namespace kata::shim {
namespace {

constexpr char kSocketDir[] = "/run/containerd/s";
constexpr char kDefaultConfig[] = "/etc/kata-cpp/configuration.yaml";

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string BundleDir(const ShimFlags& flags) {
  if (!flags.bundle.empty()) return flags.bundle;
  char cwd[4096];
  return ::getcwd(cwd, sizeof(cwd)) != nullptr ? std::string(cwd) : std::string(".");
}

absl::StatusOr<config::Config> LoadShimConfig() {
  const char* env = std::getenv("KATA_CONF_FILE");
  const std::string path = env != nullptr && *env ? env : kDefaultConfig;
  auto loaded = config::LoadConfig(path);
  if (absl::IsNotFound(loaded.status()) && (env == nullptr || !*env)) return config::Config{};
  return loaded;
}

// runtimeoptions.v1.Options' config_path, when containerd sent one on stdin.
std::string ConfigPathFromOptions(const std::string& stdin_bytes) {
  google::protobuf::Any any;
  if (stdin_bytes.empty() || !any.ParseFromString(stdin_bytes) || !any.type_url().ends_with("runtimeoptions.v1.Options")) return "";
  containerd::task::v2::RuntimeOptions options;
  return options.ParseFromString(any.value()) ? options.config_path() : "";
}

}  // namespace

std::string ShimSocketPath(const ShimFlags& flags) {
  return fmt::format("{}/{:016x}", kSocketDir, Fnv1a(StrCat(flags.address, "/", flags.ns, "/", flags.id)));
}

int PrintRuntimeInfo() {
  containerd::task::v2::RuntimeInfo info;
  info.set_name("io.containerd.kata.v2");
  info.mutable_version()->set_version(KATA_VERSION);
  std::string options(std::istreambuf_iterator<char>(std::cin), {});
  if (!options.empty()) (void)info.mutable_options()->ParseFromString(options);
  // EROFS layers, and the mkdir/format wrappers around them, are ours to mount (in the VM).
  (*info.mutable_annotations())["containerd.io/runtime-allow-mounts"] = "mkdir/*,format/*,erofs";
  const std::string out = info.SerializeAsString();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// A container of a CRI pod runs in its sandbox's VM: `start` names the sandbox's shim
// instead of spawning one (containerd then sends Create there). Empty for the others.
absl::StatusOr<std::string> SandboxShimAddress(const ShimFlags& flags, const std::string& bundle) {
  auto spec = oci::LoadBundleSpec(bundle);
  if (!spec.ok()) return std::string();  // not ours to judge here: Create reports it by name
  ASSIGN_OR_RETURN(PodRole role, PodRoleOf(*spec));
  if (!role.joins_sandbox) return std::string();
  ShimFlags sandbox = flags;
  sandbox.id = role.sandbox_id;
  const std::string path = ShimSocketPath(sandbox);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(StrCat("sandbox ", role.sandbox_id, " of task ", flags.id, " has no shim (", path, ")"));
  }
  return StrCat("unix://", path);
}

int StartShim(const ShimFlags& flags, const char* self) {
  const std::string bundle = BundleDir(flags);
  // containerd writes the runtime options to stdin: read them whoever serves the task.
  std::string options(std::istreambuf_iterator<char>(std::cin), {});
  auto joined = SandboxShimAddress(flags, bundle);
  if (!joined.ok()) {
    std::fprintf(stderr, "%s", std::string(joined.status().message()).c_str());
    return 1;
  }
  if (!joined->empty()) {
    if (!WriteFileAtomically(bundle + "/address", *joined).ok()) {
      std::fprintf(stderr, "write address into %s", bundle.c_str());
      return 1;
    }
    std::fputs(joined->c_str(), stdout);
    return 0;
  }
  if (const std::string config_path = ConfigPathFromOptions(options); !config_path.empty()) {
    ::setenv("KATA_CONF_FILE", config_path.c_str(), 1);
  }
  std::filesystem::create_directories(kSocketDir);
  const std::string path = ShimSocketPath(flags);
  auto listening = ListenUnixSocket(path, 0);  // no CLOEXEC: the daemon inherits it as fd 3
  if (!listening.ok()) {
    std::fprintf(stderr, "%s", std::string(listening.status().message()).c_str());
    return 1;
  }
  UniqueFd sock = std::move(*listening);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, sock.get(), 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  std::vector<std::string> args = {self, "-namespace", flags.ns, "-id", flags.id, "-address", flags.address,
                                   "-publish-binary", flags.publish_binary, "-bundle", bundle, "serve"};
  if (flags.debug) args.insert(args.begin() + 1, "-debug");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ::unlink(path.c_str());
    std::fprintf(stderr, "spawn the shim daemon: %s", std::strerror(rc));
    return 1;
  }
  const std::string address = StrCat("unix://", path);
  if (!WriteFileAtomically(bundle + "/address", address).ok() ||
      !WriteFileAtomically(bundle + "/shim.pid", std::to_string(pid)).ok()) {
    ::kill(pid, SIGKILL);
    ::unlink(path.c_str());
    std::fprintf(stderr, "write address and shim.pid into %s", bundle.c_str());
    return 1;
  }
  std::fputs(address.c_str(), stdout);  // containerd reads this, and nothing else
  return 0;
}

int DeleteShim(const ShimFlags& flags) {
  const std::string bundle = BundleDir(flags);
  // A VM the daemon left behind (it died, or was killed) goes now, with its state. The id
  // names a directory: only a well-formed one is used.
  if (auto config = LoadShimConfig(); config.ok() && ValidateId("container id", flags.id).ok()) {
    const std::string state = StrCat(config->runtime.state_dir, "/", flags.id);
    if (auto pid_text = ReadFileToString(state + "/qemu.pid", 64); pid_text.ok()) {
      const pid_t qemu = std::atoi(pid_text->c_str());
      auto cmdline = ReadFileToString(StrCat("/proc/", qemu, "/cmdline"), 1 << 20);
      if (qemu > 1 && cmdline.ok() && cmdline->find(StrCat("sandbox-", flags.id)) != std::string::npos) {
        ::kill(qemu, SIGKILL);
        // Gone before its state goes: the 9p server must not hold what is unmounted next.
        for (int i = 0; i < 100 && ::kill(qemu, 0) == 0; ++i) ::usleep(20 * 1000);
      }
    }
    // The pod's network namespace keeps the redirects to the VM's taps (the taps went with
    // QEMU): removed when this id ran the VM (a state of its own) and its spec names one.
    struct stat st;
    if (::stat(state.c_str(), &st) == 0) {
      if (auto spec = oci::LoadBundleSpec(bundle); spec.ok()) {
        if (auto net = runtime::SandboxNetworkFromSpec(*spec); net.ok() && !net->netns_path.empty()) {
          if (absl::Status s = runtime::CleanupPodNetwork(net->netns_path); !s.ok()) {
            std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
          }
        }
        // The sandbox's cgroup the dead shim and QEMU were in (its parents may be kubelet's).
        if (spec->has_linux() && !spec->linux().cgroups_path().empty()) {
          if (auto relative = runtime::CgroupRelativePath(spec->linux().cgroups_path()); relative.ok()) {
            runtime::RemoveHostCgroupLeaf(runtime::HostCgroupHierarchies(), *relative);
          }
        }
      }
    }
    // The state holds mounts of the user's data (containerd's snapshot bind-mounted for 9p,
    // shared volumes): unmounted first, never removed through.
    if (absl::Status s = mount::UnmountAndRemoveTree(state); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    }
  }
  ::umount2((bundle + "/rootfs").c_str(), MNT_DETACH);
  ::unlink(ShimSocketPath(flags).c_str());
  containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(128 + SIGKILL);
  *resp.mutable_exited_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
  const std::string out = resp.SerializeAsString();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int ServeShim(const ShimFlags& flags) {
  const std::string bundle = BundleDir(flags);
  // A stdio FIFO whose reader left must fail the write, not kill the shim.
  ::signal(SIGPIPE, SIG_IGN);
  // Logs go to the bundle's `log` FIFO, which containerd reads (O_RDWR: never blocks on open).
  if (int fd = ::open((bundle + "/log").c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK); fd >= 0) {
    log::Logger::Global().SetSink(std::make_unique<log::FdSink>(fd, true));
  }
  log::Logger::Global().SetLevel(flags.debug ? log::Level::kDebug : log::Level::kInfo);
  const log::Subsystem kLog("shim");
  auto config = LoadShimConfig();
  if (!config.ok()) {
    kLog.Error("configuration", {{"error", std::string(config.status().message())}});
    return 1;
  }
  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  EventPublisher events(ttrpc_address != nullptr ? ttrpc_address : "", flags.ns, flags.publish_binary, flags.address);
  TaskService service(*config, events);
  ttrpc::Server server;
  service.Register(server);
  if (absl::Status s = server.Start(UniqueFd(3)); !s.ok()) {
    kLog.Error("serve", {{"error", std::string(s.message())}});
    return 1;
  }
  kLog.Info("serving", {{"id", flags.id}, {"namespace", flags.ns}});
  service.shutdown_requested().WaitForNotification();
  server.Shutdown();
  ::unlink(ShimSocketPath(flags).c_str());
  kLog.Info("shut down", {{"id", flags.id}});
  return 0;
}

}  // namespace kata::shim
