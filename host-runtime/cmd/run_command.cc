#include "host-runtime/cmd/run_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/sandbox/sandbox.h"
#include "libkata/base/file_util.h"
#include "libkata/oci/spec.h"

namespace kata::runtime {
namespace {

constexpr int kRuntimeFailure = 125;

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "kata-runtime run: %.*s\n", static_cast<int>(s.message().size()), s.message().data());
  return kRuntimeFailure;
}

// Copies one of the container's streams to `fd` until its end.
void Pump(Sandbox& sandbox, const std::string& id, bool stderr_stream, int fd) {
  for (;;) {
    auto chunk = sandbox.ReadOutput(id, "", stderr_stream);
    if (!chunk.ok()) return;  // OutOfRange at the end; anything else ends it too
    (void)WriteAll(fd, *chunk, stderr_stream ? "stderr" : "stdout");
  }
}

}  // namespace

int RunContainer(const config::Config& config, const RunOptions& options) {
  auto spec = oci::LoadBundleSpec(options.bundle);
  if (!spec.ok()) return Fail(spec.status());
  std::vector<RootfsMount> mounts;
  if (!options.rootfs_mounts.empty()) {
    auto text = ReadFileToString(options.rootfs_mounts);
    if (!text.ok()) return Fail(text.status());
    auto parsed = ParseRootfsMountsJson(*text);
    if (!parsed.ok()) return Fail(parsed.status());
    mounts = std::move(*parsed);
  } else {
    // The bundle's own rootfs directory, shared with the guest (as runc would use it).
    mounts.push_back(BundleRootfsMount(options.bundle, spec->root().path()));
  }
  // Signals for the container are taken before any thread exists, so every thread blocks them.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&forwarded, sig);
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);

  // The rootfs is known before the VM boots: its disks go on QEMU's command line.
  auto network = SandboxNetworkFromSpec(*spec);
  if (!network.ok()) return Fail(network.status());
  auto sandbox = Sandbox::Create(options.id, config, BootRootfs{options.id, mounts}, *network);
  if (!sandbox.ok()) return Fail(sandbox.status());
  Sandbox& sb = **sandbox;
  if (absl::Status s = sb.CreateContainer(options.id, *spec, mounts, options.bundle); !s.ok()) return Fail(s);
  if (absl::Status s = sb.StartContainer(options.id); !s.ok()) return Fail(s);

  std::atomic<bool> done = false;
  std::thread out([&] { Pump(sb, options.id, false, STDOUT_FILENO); });
  std::thread err([&] { Pump(sb, options.id, true, STDERR_FILENO); });
  std::thread in([&] {
    char buf[16384];
    while (!done) {
      pollfd p = {STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0) {
        (void)sb.CloseStdin(options.id, "");
        return;
      }
      if (!sb.WriteStdin(options.id, "", std::string_view(buf, static_cast<size_t>(n))).ok()) return;
    }
  });
  std::thread signals([&] {
    const timespec tick = {0, 100 * 1000 * 1000};
    while (!done) {
      const int sig = sigtimedwait(&forwarded, nullptr, &tick);
      if (sig > 0) (void)sb.SignalProcess(options.id, "", sig);
    }
  });

  auto status = sb.WaitProcess(options.id);
  out.join();
  err.join();
  done = true;
  in.join();
  signals.join();
  absl::Status teardown = sb.RemoveContainer(options.id);
  if (absl::Status s = sb.Destroy(); teardown.ok()) teardown = s;
  if (!status.ok()) return Fail(status.status());
  if (!teardown.ok()) {
    std::fprintf(stderr, "kata-runtime run: teardown: %.*s\n", static_cast<int>(teardown.message().size()),
                 teardown.message().data());
  }
  return *status;
}

}  // namespace kata::runtime
