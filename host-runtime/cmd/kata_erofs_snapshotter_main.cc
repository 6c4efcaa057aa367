// kata-erofs-snapshotter: a containerd proxy snapshotter (containerd 1.6/1.7) whose layers are
// EROFS images, for containers in VMs (docs/erofs.md).

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/numbers.h"
#include "host-runtime/snapshotter/erofs_snapshotter.h"
#include "host-runtime/snapshotter/snapshots_service.h"
#include "host-runtime/snapshotter/snapshotter_defaults.h"
#include "kata_version.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace {

using kata::snapshotter::kDefaultAddress;
using kata::snapshotter::kDefaultRoot;

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: kata-erofs-snapshotter [--root DIR] [--address SOCKET] [--writable-size SIZE]\n"
               "                              [--no-merge-layers] [--log-level LEVEL]\n"
               "\n"
               "Serves containerd's snapshots API on SOCKET (default %s) for\n"
               "  [proxy_plugins.kata-erofs]\n"
               "    type = \"snapshot\"\n"
               "    address = \"SOCKET\"\n"
               "Snapshots live under DIR (default %s). SIZE: each container's writable ext4\n"
               "image, sparse (bytes, or with K, M, G suffix; default 10G). An image of several\n"
               "layers is merged into one EROFS image at its first container (one disk for the VM),\n"
               "unless --no-merge-layers.\n",
               kDefaultAddress, kDefaultRoot);
}

int Fail(std::string_view what) {
  std::fprintf(stderr, "kata-erofs-snapshotter: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

bool ParseSize(std::string_view text, uint64_t* out) {
  uint64_t shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      default: break;
    }
  }
  if (shift != 0) text.remove_suffix(1);
  uint64_t n = 0;
  if (!absl::SimpleAtoi(kata::ToAbsl(text), &n) || n == 0 || n > (UINT64_MAX >> shift)) return false;
  *out = n << shift;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  kata::snapshotter::SnapshotterOptions options;
  options.root = kDefaultRoot;
  std::string address = kDefaultAddress;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("kata-erofs-snapshotter %s\n", KATA_VERSION);
      return 0;
    } else if (arg == "--root" && has_value) {
      options.root = argv[++i];
    } else if (arg == "--address" && has_value) {
      address = argv[++i];
    } else if (arg == "--writable-size" && has_value) {
      if (!ParseSize(argv[++i], &options.writable_size_bytes) || options.writable_size_bytes < (64u << 20)) {
        return Fail(std::string("--writable-size ") + argv[i] + ": want a size of at least 64M");
      }
    } else if (arg == "--no-merge-layers") {
      options.merge_layers = false;
    } else if (arg == "--log-level" && has_value) {
      auto level = kata::log::ParseLevel(argv[++i]);
      if (!level.ok()) return Fail(level.status().ToString());
      kata::log::Logger::Global().SetLevel(*level);
    } else {
      Usage(stderr);
      return Fail(std::string("unknown argument ") + std::string(arg));
    }
  }
  if (address.empty() || address.front() != '/') return Fail("--address: want an absolute socket path");
  auto snapshotter = kata::snapshotter::ErofsSnapshotter::Open(options);
  if (!snapshotter.ok()) return Fail(snapshotter.status().ToString());

  // SIGTERM/SIGINT: stop taking requests, finish those under way, exit 0. Blocked before
  // gRPC starts its threads, which inherit the mask: only the waiter below takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(address).parent_path(), ec);
  ::unlink(address.c_str());  // a socket left by an earlier run that was killed
  kata::snapshotter::SnapshotsService service(**snapshotter);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return Fail("cannot listen on " + address);
  ::chmod(address.c_str(), 0600);

  kata::log::Subsystem("snapshotter").Info("serving", {{"address", address}, {"root", options.root}});
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    server->Shutdown();
  });
  server->Wait();
  waiter.join();
  ::unlink(address.c_str());
  return 0;
}
