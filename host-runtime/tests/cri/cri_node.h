#pragma once

// A Kubernetes node as kubelet sees one, for the CRI tests: Debian's containerd 1.6 with its
// CRI plugin, started privately by the test (own config, root, state and socket) inside a
// network namespace of its own that stands in for the node's, so the CNI bridge it makes
// never touches the machine's network. Our shim is the `kata` RuntimeClass handler, runc the
// `runc` one; CNI is Debian's bridge + host-local (and CRI's loopback); the pause image is
// the project's own (tests/cri/pause.cc). The test plays kubelet over CRI's gRPC API.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/netns.h"
#include "libkata/testing/test_support.h"
#include "protocols/cri_api.grpc.pb.h"

namespace kata::runtime::testing {

inline constexpr char kCriBusybox[] = "docker.io/library/kata-busybox:latest";
inline constexpr char kCriPause[] = "docker.io/library/kata-pause:test";
inline constexpr char kCriSubnet[] = "10.78.0.";  // the pods' /24
inline constexpr char kCriLayered[] = "docker.io/library/kata-layered:latest";  // make_oci_image.py --layered

// The pids of the processes (not this one) whose command line contains `needle` and `also`.
inline std::vector<int> PidsOfProcessesNaming(const std::string& needle, const std::string& also = "") {
  std::vector<int> pids;
  DIR* proc = ::opendir("/proc");
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || std::atoi(e->d_name) == ::getpid()) continue;
    auto cmdline = kata::ReadFileToString(std::string("/proc/") + e->d_name + "/cmdline", 1 << 16);
    if (cmdline.ok() && cmdline->find(needle) != std::string::npos && cmdline->find(also) != std::string::npos) {
      pids.push_back(std::atoi(e->d_name));
    }
  }
  ::closedir(proc);
  return pids;
}

// Their command lines, one per line.
inline std::string ProcessesNaming(const std::string& needle) {
  std::string found;
  for (int pid : PidsOfProcessesNaming(needle)) {
    std::string cmdline = kata::ReadFileToString("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16).value_or("");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (!cmdline.empty()) found += cmdline + "\n";
  }
  return found;
}

// Their summed PSS (kB).
inline long long PssKbOfProcessesNaming(const std::string& needle, const std::string& also) {
  long long total = 0;
  for (int pid : PidsOfProcessesNaming(needle, also)) {
    const std::string smaps = kata::ReadFileToString("/proc/" + std::to_string(pid) + "/smaps_rollup", 1 << 16).value_or("");
    if (const size_t at = smaps.find("\nPss:"); at != std::string::npos) total += std::atoll(smaps.c_str() + at + 5);
  }
  return total;
}

// CAP_SYS_RESOURCE, without which no process lowers its OOM score (this machine's root lacks
// it). CRI gives pause containers -998; runc then fails ("failed to update
// /proc/self/oom_score_adj"), so the node restricts scores to containerd's own, as CRI's
// restrict_oom_score_adj is meant for. In the VM the agent may lower it either way.
inline bool MayLowerOomScore() {
  const std::string status = kata::testing::ReadFile("/proc/self/status");
  const size_t at = status.find("CapEff:");
  return at != std::string::npos && (std::strtoull(status.c_str() + at + 7, nullptr, 16) >> 24 & 1) != 0;
}

class CriNode {
 public:
  // With `erofs_snapshotter_socket`, the node's CRI snapshotter is kata-erofs-snapshotter
  // serving there (containerd 1.6 has one snapshotter for all of CRI), its proxy plugin
  // installed by kata-runtime containerd-config, and the layered image imported too.
  explicit CriNode(const std::string& erofs_snapshotter_socket = "") {
    node_.Exec("sysctl -qw net.ipv6.conf.all.accept_dad=0; ip link set lo up");
    std::filesystem::create_directories(tmp_.Sub("cni"));
    std::filesystem::create_directories(tmp_.Sub("logs"));
    kata::testing::WriteFile(tmp_.Sub("cni/10-kata-cri.conflist"), R"({"cniVersion": "1.0.0", "name": "kata-cri",
      "plugins": [{"type": "bridge", "bridge": "kcri0", "isGateway": true, "ipMasq": false,
        "ipam": {"type": "host-local", "dataDir": ")" + tmp_.Sub("ipam") + R"(",
                 "ranges": [[{"subnet": "10.78.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]})");
    kata::testing::WriteFile(tmp_.Sub("config.toml"), "version = 2\nroot = \"" + tmp_.Sub("root") + "\"\nstate = \"" + tmp_.Sub("state") +
      "\"\n[grpc]\n  address = \"" + sock_ + "\"\n"
      "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"" + kCriPause + "\"\n  restrict_oom_score_adj = " + (MayLowerOomScore() ? "false" : "true") + "\n"
      "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n    bin_dir = \"/usr/lib/cni\"\n    conf_dir = \"" + tmp_.Sub("cni") + "\"\n"
      "  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n    runtime_type = \"io.containerd.runc.v2\"\n" +
      (erofs_snapshotter_socket.empty() ? "" : "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n    snapshotter = \"kata-erofs\"\n"));
    kata::testing::WriteFile(tmp_.Sub("kata.yaml"), "hypervisor:\n  kernel: " + ImageDir() + "/vmlinux\n  initrd: " + ImageDir() +
                                                        "/kata-initrd.img\n  memory_mib: 512\n  accel: tcg\nruntime:\n  state_dir: " +
                                                        tmp_.Sub("kata") + "\n");
    // The kata handler as an operator installs it: a drop-in the config imports, naming our
    // configuration (containerd hands the shim its ConfigPath in Create's options).
    const std::string installed = kata::testing::Capture(
        std::string(KATA_RUNTIME_BIN) + " containerd-config --install --config " + tmp_.Sub("config.toml") + " --kata-config " +
        tmp_.Sub("kata.yaml") +
        (erofs_snapshotter_socket.empty() ? "" : " --erofs-snapshotter-address " + erofs_snapshotter_socket) + " 2>&1");
    INFO(installed);
    REQUIRE(absl::StrContains(installed, "added it to the imports"));
    // containerd finds the shim on its PATH.
    const std::string path = std::string(KATA_SHIM_DIR) + ":" + std::getenv("PATH");
    ::setenv("PATH", path.c_str(), 1);
    ::unsetenv("KATA_CONF_FILE");
    daemon_ = std::make_unique<kata::testing::Daemon>(
        std::vector<std::string>{"/usr/bin/nsenter", "--net=" + node_.path(), "/usr/bin/containerd", "--config", tmp_.Sub("config.toml")},
        tmp_.Sub("containerd.log"));
    daemon_->WaitForPath(sock_, 20000);
    auto channel = grpc::CreateChannel("unix://" + sock_, grpc::InsecureChannelCredentials());
    runtime_ = ::runtime::v1::RuntimeService::NewStub(channel);
    images_ = ::runtime::v1::ImageService::NewStub(channel);
    snapshotter_ = erofs_snapshotter_socket.empty() ? "" : " --snapshotter kata-erofs";
    Import(kCriBusybox, "");
    Import(kCriPause, KATA_PAUSE_BINARY);
    if (!erofs_snapshotter_socket.empty()) Import(kCriLayered, "--layered");
  }

  // Whatever a failed test left goes: pods (CRI stops their containers and tears their
  // networks down), then containerd, then any process that names this node's directory.
  ~CriNode() {
    ::runtime::v1::ListPodSandboxResponse pods;
    if (Call(&Runtime::Stub::ListPodSandbox, ::runtime::v1::ListPodSandboxRequest(), pods, 60).ok()) {
      for (const auto& pod : pods.items()) {
        ::runtime::v1::StopPodSandboxRequest stop;
        stop.set_pod_sandbox_id(pod.id());
        ::runtime::v1::StopPodSandboxResponse stopped;
        (void)Call(&Runtime::Stub::StopPodSandbox, stop, stopped, 120);
        ::runtime::v1::RemovePodSandboxRequest remove;
        remove.set_pod_sandbox_id(pod.id());
        ::runtime::v1::RemovePodSandboxResponse removed;
        (void)Call(&Runtime::Stub::RemovePodSandbox, remove, removed, 120);
      }
    }
    daemon_.reset();
    for (int pid : PidsOfProcessesNaming(tmp_.path())) ::kill(pid, SIGKILL);
    (void)kata::testing::Capture("grep -o ' " + tmp_.path() + "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l");
    // The pods' cgroup parent (kubelet's, on a real node), once runc and our shim have
    // removed the pods' own.
    (void)kata::testing::Capture("rmdir /sys/fs/cgroup/*/kata-cri-test /sys/fs/cgroup/kata-cri-test 2>/dev/null");
  }

  using Runtime = ::runtime::v1::RuntimeService;

  // One CRI call with a deadline of `seconds`, as kubelet makes it.
  template <typename Stub, typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*), const Request& request,
                    Response& response, int seconds = 60) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    Stub* stub;
    if constexpr (std::is_same_v<Stub, ::runtime::v1::ImageService::Stub>) {
      stub = images_.get();
    } else {
      stub = runtime_.get();
    }
    return (stub->*method)(&context, request, &response);
  }

  const kata::testing::TempDir& tmp() const { return tmp_; }
  const kata::testing::TestNetns& node() const { return node_; }
  std::string log_dir() const { return tmp_.Sub("logs"); }
  std::string DaemonLogTail() const { return kata::ReadFileTail(tmp_.Sub("containerd.log"), 4000); }

  // What of this node outlives its pods: processes naming its directory other than
  // containerd (shims name its socket, QEMU its state), its mounts (snapshots, shm, shared
  // binds) and the runtime's state.
  std::string Leftovers() const {
    std::string left;
    for (absl::string_view line : absl::StrSplit(ProcessesNaming(tmp_.path()), '\n', absl::SkipEmpty())) {
      if (!absl::StartsWith(line, "/usr/bin/containerd --config")) absl::StrAppend(&left, line, "\n");
    }
    left += kata::testing::Capture("grep ' " + tmp_.path() + "' /proc/self/mountinfo");
    std::error_code ec;
    if (std::filesystem::exists(tmp_.Sub("kata"), ec) && !std::filesystem::is_empty(tmp_.Sub("kata"), ec)) {
      left += "kata state: " + kata::testing::Capture("ls -R " + tmp_.Sub("kata"));
    }
    return left;
  }

  // Leftovers() empty within `seconds` (shims and QEMU take a moment to exit).
  std::string AwaitClean(int seconds = 10) const {
    std::string left = Leftovers();
    for (int i = 0; i < seconds * 10 && !left.empty(); ++i, ::usleep(100 * 1000)) left = Leftovers();
    return left;
  }

 private:
  // An image into CRI's namespace, as a node pre-loads one (unpacked for the node's
  // snapshotter); CRI learns of it from the event. `variant`: make_oci_image.py's third argument.
  void Import(const std::string& name, const std::string& variant) {
    const std::string tar = tmp_.Sub(name.substr(name.rfind('/') + 1) + ".tar");
    REQUIRE(kata::testing::Capture(std::string("python3 ") + KATA_TESTS_DIR + "/make_oci_image.py " + tar + " " + name + " " +
                                   variant + " && echo made") == "made\n");
    const std::string out =
        kata::testing::Capture("ctr -a " + sock_ + " -n k8s.io image import" + snapshotter_ + " " + tar + " 2>&1; echo rc=$?");
    INFO(out);
    REQUIRE(out.find("rc=0") != std::string::npos);
    ::runtime::v1::ImageStatusRequest request;
    request.mutable_image()->set_image(name);
    ::runtime::v1::ImageStatusResponse status;
    for (int i = 0; i < 100; ++i, ::usleep(100 * 1000)) {
      if (Call(&::runtime::v1::ImageService::Stub::ImageStatus, request, status).ok() && status.has_image()) return;
    }
    FAIL("CRI does not see the imported image " << name);
  }

  kata::testing::TempDir tmp_;
  kata::testing::TestNetns node_;
  std::string sock_ = tmp_.Sub("containerd.sock");
  std::string snapshotter_;  // ctr's --snapshotter for imports, or ""
  std::unique_ptr<kata::testing::Daemon> daemon_;
  std::unique_ptr<::runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<::runtime::v1::ImageService::Stub> images_;
};

}  // namespace kata::runtime::testing
