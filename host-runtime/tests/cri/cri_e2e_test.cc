// Pods through containerd 1.6's CRI plugin with our shim as the `kata` RuntimeClass handler,
// the test playing kubelet (tests/cri/cri_node.h), each case also under runc's handler with
// the same expectations: a pod of two containers in one VM sharing its network, IPC and UTS;
// the pod IP answering from the node; the files CRI makes (hosts, resolv.conf,
// termination-log) and its container logs; ExecSync with a timeout, Exec and Attach through
// the streaming server, stats, resource updates (in the VM its vCPUs and memory follow them,
// and a removed container's vCPU goes back); QEMU and the shim in the pod's cgroup; a
// container replaced in a running pod; clear errors for a missing image or command; and
// nothing left after the pod goes.

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "host-runtime/cgroups/host_cgroup.h"
#include "host-runtime/tests/cri/cri_node.h"
#include "host-runtime/tests/cri/ws_exec.h"
#include "libkata/netlink/netns_thread.h"

using kata::runtime::testing::CriNode;
using kata::runtime::testing::kCriBusybox;
using kata::runtime::testing::kCriLayered;
using kata::runtime::testing::kCriSubnet;
namespace cri = ::runtime::v1;
using Runtime = cri::RuntimeService::Stub;

namespace {

#define KATA_REQUIRE_CRI()                                                                          \
  do {                                                                                              \
    KATA_REQUIRE_VM();                                                                              \
    if (::access("/usr/bin/containerd", X_OK) != 0 || ::access("/usr/lib/cni/bridge", X_OK) != 0) \
      KATA_SKIP("containerd or Debian's CNI plugins are not installed");                            \
  } while (0)

// What kubelet sends for a pod: a name, a log directory, DNS, a cgroup parent, and (as for
// a v1 Pod) a PID namespace per container.
cri::PodSandboxConfig PodConfig(const CriNode& node, const std::string& name) {
  cri::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid(name + "-uid-" + std::to_string(::getpid()));
  config.set_hostname(name);
  config.set_log_directory(node.log_dir() + "/" + name);
  config.mutable_dns_config()->add_servers("10.78.0.53");
  config.mutable_dns_config()->add_searches("default.svc.cluster.local");
  config.mutable_dns_config()->add_options("ndots:5");
  (*config.mutable_labels())["app"] = name;
  config.mutable_linux()->set_cgroup_parent("/kata-cri-test");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::CONTAINER);
  return config;
}

// A container of the busybox image as kubelet asks for one: its log path, the
// termination-log and /etc/hosts binds kubelet makes on the node.
cri::ContainerConfig ContainerConfig(const CriNode& node, const std::string& name, const std::string& script) {
  cri::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(kCriBusybox);
  config.add_command("sh");
  config.add_args("-c");
  config.add_args(script);
  config.set_log_path(name + ".log");
  const std::string termination_log = node.tmp().Sub(name + "-termination-log");
  kata::testing::WriteFile(termination_log, "");
  cri::Mount* term = config.add_mounts();
  term->set_container_path("/dev/termination-log");
  term->set_host_path(termination_log);
  cri::Mount* hosts = config.add_mounts();
  hosts->set_container_path("/etc/hosts");
  hosts->set_host_path(node.tmp().Sub("etc-hosts"));
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::CONTAINER);
  return config;
}

struct Exec {
  grpc::Status status;
  std::string out, err;
  int exit_code = -1;
};

Exec ExecSync(CriNode& node, const std::string& id, const std::vector<std::string>& cmd, int timeout = 0) {
  cri::ExecSyncRequest request;
  request.set_container_id(id);
  for (const auto& c : cmd) request.add_cmd(c);
  request.set_timeout(timeout);
  cri::ExecSyncResponse response;
  Exec r;
  r.status = node.Call(&Runtime::ExecSync, request, response, timeout > 0 ? timeout + 30 : 60);
  r.out = response.stdout();
  r.err = response.stderr();
  r.exit_code = response.exit_code();
  return r;
}

std::string Sh(CriNode& node, const std::string& id, const std::string& script) {
  const Exec r = ExecSync(node, id, {"sh", "-c", script});
  INFO(id << ": " << script << ": " << r.status.error_message() << " " << r.err);
  CHECK(r.status.ok());
  CHECK(r.exit_code == 0);
  return r.out;
}

std::string RunPod(CriNode& node, const cri::PodSandboxConfig& config, const std::string& handler = "kata") {
  cri::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(handler);
  cri::RunPodSandboxResponse response;
  const grpc::Status status = node.Call(&Runtime::RunPodSandbox, request, response, 180);
  INFO(status.error_message() << "\ncontainerd:\n" << node.DaemonLogTail());
  REQUIRE(status.ok());
  return response.pod_sandbox_id();
}

grpc::Status CreateContainer(CriNode& node, const std::string& pod, const cri::PodSandboxConfig& pod_config,
                             const cri::ContainerConfig& config, std::string& id) {
  cri::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod);
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = pod_config;
  cri::CreateContainerResponse response;
  const grpc::Status status = node.Call(&Runtime::CreateContainer, request, response, 120);
  id = response.container_id();
  return status;
}

grpc::Status StartContainer(CriNode& node, const std::string& id) {
  cri::StartContainerRequest request;
  request.set_container_id(id);
  cri::StartContainerResponse response;
  return node.Call(&Runtime::StartContainer, request, response, 120);
}

// Created and started, REQUIREd to succeed.
std::string StartedContainer(CriNode& node, const std::string& pod, const cri::PodSandboxConfig& pod_config,
                             const cri::ContainerConfig& config) {
  std::string id;
  grpc::Status status = CreateContainer(node, pod, pod_config, config, id);
  INFO(config.metadata().name() << ": " << status.error_message() << "\ncontainerd:\n" << node.DaemonLogTail());
  REQUIRE(status.ok());
  status = StartContainer(node, id);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return id;
}

cri::ContainerStatus ContainerStatus(CriNode& node, const std::string& id) {
  cri::ContainerStatusRequest request;
  request.set_container_id(id);
  cri::ContainerStatusResponse response;
  REQUIRE(node.Call(&Runtime::ContainerStatus, request, response).ok());
  return response.status();
}

grpc::Status StopContainer(CriNode& node, const std::string& id, int timeout) {
  cri::StopContainerRequest request;
  request.set_container_id(id);
  request.set_timeout(timeout);
  cri::StopContainerResponse response;
  return node.Call(&Runtime::StopContainer, request, response, timeout + 60);
}

grpc::Status RemoveContainer(CriNode& node, const std::string& id) {
  cri::RemoveContainerRequest request;
  request.set_container_id(id);
  cri::RemoveContainerResponse response;
  return node.Call(&Runtime::RemoveContainer, request, response, 60);
}

void StopAndRemovePod(CriNode& node, const std::string& pod) {
  cri::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod);
  cri::StopPodSandboxResponse stopped;
  grpc::Status status = node.Call(&Runtime::StopPodSandbox, stop, stopped, 120);
  INFO(status.error_message() << "\ncontainerd:\n" << node.DaemonLogTail());
  CHECK(status.ok());
  cri::RemovePodSandboxRequest remove;
  remove.set_pod_sandbox_id(pod);
  cri::RemovePodSandboxResponse removed;
  status = node.Call(&Runtime::RemovePodSandbox, remove, removed, 120);
  INFO(status.error_message());
  CHECK(status.ok());
}

// Waits up to `seconds` for `path` to contain `text`; its content.
std::string AwaitFileContaining(const std::string& path, const std::string& text, int seconds = 20) {
  std::string content;
  for (int i = 0; i < seconds * 10; ++i, ::usleep(100 * 1000)) {
    content = kata::ReadFileToString(path, 1 << 20).value_or("");
    if (absl::StrContains(content, text)) break;
  }
  return content;
}

}  // namespace

// The same steps and expectations under runc's handler and ours: runc is the oracle.
TEST_CASE("CRI: a pod of two containers, as kubelet drives it, under runc and in one VM; nothing left after", "[cri][e2e]") {
  KATA_REQUIRE_CRI();
  const std::string handler = GENERATE("runc", "kata");
  INFO("handler " << handler);
  CriNode node;
  kata::testing::WriteFile(node.tmp().Sub("etc-hosts"), "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n");
  const std::string netns_before = kata::testing::Capture("ls /run/netns");
  const cri::PodSandboxConfig pod_config = PodConfig(node, "web");
  const std::string pod = RunPod(node, pod_config, handler);

  // The pod's IP, from the CNI result CRI kept; it answers from the node.
  cri::PodSandboxStatusRequest status_request;
  status_request.set_pod_sandbox_id(pod);
  cri::PodSandboxStatusResponse pod_status;
  REQUIRE(node.Call(&Runtime::PodSandboxStatus, status_request, pod_status).ok());
  CHECK(pod_status.status().state() == cri::SANDBOX_READY);
  const std::string ip = pod_status.status().network().ip();
  INFO("pod ip " << ip);
  REQUIRE(absl::StartsWith(ip, kCriSubnet));
  CHECK(pod_status.status().runtime_handler() == handler);

  const std::string server =
      StartedContainer(node, pod, pod_config, ContainerConfig(node, "server", "echo server up; echo to-stderr >&2; exec nc -ll -p 8080 -e echo served-by-pod"));
  const std::string client = StartedContainer(node, pod, pod_config, ContainerConfig(node, "client", "exec sleep 3600"));

  // The two share the pod's network, IPC and UTS namespaces, and its hostname; each has its
  // own PID namespace (v1 Pods' default), so the shell sees itself as PID 1's child.
  const std::string kNs = "for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname";
  const std::string server_ns = Sh(node, server, kNs);
  CHECK(server_ns == Sh(node, client, kNs));
  INFO(server_ns);
  CHECK(absl::StartsWith(server_ns, "net:["));
  CHECK(absl::EndsWith(server_ns, "]\nweb\n"));
  CHECK(Sh(node, server, "readlink /proc/self/ns/pid") != Sh(node, client, "readlink /proc/self/ns/pid"));

  // One serves, the other connects over localhost; the node reaches the pod's IP.
  std::string answer;
  for (int i = 0; i < 50 && answer != "served-by-pod\n"; ++i, ::usleep(200 * 1000)) {
    answer = ExecSync(node, client, {"nc", "127.0.0.1", "8080"}).out;
  }
  CHECK(answer == "served-by-pod\n");
  CHECK(node.node().Capture("busybox nc -w 10 " + ip + " 8080") == "served-by-pod\n");

  // The VM and the shim run in the pod's cgroup on the node, in every hierarchy (Kata's
  // sandbox_cgroup_only): kubelet's pod cgroup accounts for them.
  const std::string pod_cgroup = "/kata-cri-test/" + pod;
  if (handler == "kata") {
    std::vector<int> pids = kata::runtime::testing::PidsOfProcessesNaming("qemu-system", node.tmp().path());
    const std::vector<int> shims = kata::runtime::testing::PidsOfProcessesNaming("containerd-shim-kata-v2", node.tmp().path());
    CHECK(pids.size() == 1);
    CHECK(shims.size() == 1);
    pids.insert(pids.end(), shims.begin(), shims.end());
    for (int pid : pids) {
      const std::string cgroups = kata::testing::ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
      for (const auto& h : kata::runtime::HostCgroupHierarchies()) {
        INFO(pid << " " << h.mount_point << "\n" << cgroups);
        CHECK(kata::runtime::CgroupOfProcess(cgroups, h).value_or("") == pod_cgroup);
      }
    }
  }

  // The pod's overhead on the node (docs/kubernetes.md, bench/run-all): the VM and the shim,
  // idle; under runc the shim is all of it.
  if (handler == "kata") {
    std::printf("kata-measure: pod overhead PSS (2 containers, idle): qemu %lld kB, shim %lld kB\n",
                kata::runtime::testing::PssKbOfProcessesNaming("qemu-system", node.tmp().path()),
                kata::runtime::testing::PssKbOfProcessesNaming("containerd-shim-kata-v2", node.tmp().path()));
  } else {
    const long long shim_kb = kata::runtime::testing::PssKbOfProcessesNaming("containerd-shim-runc-v2", node.tmp().path());
    CHECK(shim_kb > 0);  // the figure bench/run-all compares with: the runc shim is found
    std::printf("kata-measure: pod overhead PSS (2 containers, idle, runc): shim %lld kB\n", shim_kb);
  }

  // The files CRI and kubelet made on the node, as the containers see them.
  const std::string resolv = Sh(node, client, "cat /etc/resolv.conf");
  CHECK(absl::StrContains(resolv, "nameserver 10.78.0.53"));
  CHECK(absl::StrContains(resolv, "search default.svc.cluster.local"));
  CHECK(absl::StrContains(resolv, "options ndots:5"));
  CHECK(Sh(node, client, "cat /etc/hosts") == kata::testing::ReadFile(node.tmp().Sub("etc-hosts")));
  CHECK(Sh(node, client, "cat /etc/hostname") == "web\n");
  // What a container writes to its termination-log is on the node for kubelet to read.
  Sh(node, server, "echo last words > /dev/termination-log");
  CHECK(kata::testing::ReadFile(node.tmp().Sub("server-termination-log")) == "last words\n");

  // Its stdout and stderr reach the CRI log file, in CRI's format.
  const std::string log_path = pod_config.log_directory() + "/server.log";
  const std::string log = AwaitFileContaining(log_path, "to-stderr");
  INFO(log);
  CHECK(absl::StrContains(log, " stdout F server up\n"));
  CHECK(absl::StrContains(log, " stderr F to-stderr\n"));
  cri::ReopenContainerLogRequest reopen;
  reopen.set_container_id(server);
  cri::ReopenContainerLogResponse reopened;
  std::filesystem::rename(log_path, log_path + ".1");  // as kubelet rotates it
  CHECK(node.Call(&Runtime::ReopenContainerLog, reopen, reopened).ok());
  CHECK(std::filesystem::exists(log_path));

  // ExecSync's timeout: the exec is killed and the call ends, well before the command would.
  const auto started = std::chrono::steady_clock::now();
  const Exec slow = ExecSync(node, client, {"sleep", "60"}, 2);
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(slow.status.error_message());
  CHECK(!slow.status.ok());
  CHECK(took < std::chrono::seconds(30));
  CHECK(ExecSync(node, client, {"sh", "-c", "exit 3"}).exit_code == 3);

  // Exec through CRI's streaming server, as `kubectl exec` reaches it: a WebSocket in the
  // node's namespace, stdout and stderr apart, the exit code in the final status.
  cri::ExecRequest exec_request;
  exec_request.set_container_id(client);
  for (const char* arg : {"sh", "-c", "echo streamed-out; echo streamed-err >&2; exit 3"}) exec_request.add_cmd(arg);
  exec_request.set_stdout(true);
  exec_request.set_stderr(true);
  cri::ExecResponse exec_response;
  REQUIRE(node.Call(&Runtime::Exec, exec_request, exec_response).ok());
  kata::runtime::testing::StreamedExec streamed;
  REQUIRE(kata::netlink::RunInNetns(node.node().path(), [&] {
            streamed = kata::runtime::testing::StreamExec(exec_response.url(), 60);
            return absl::OkStatus();
          }).ok());
  INFO(exec_response.url() << ": " << streamed.error << " status " << streamed.status);
  CHECK(streamed.error.empty());
  CHECK(streamed.out == "streamed-out\n");
  CHECK(streamed.err == "streamed-err\n");
  CHECK(absl::StrContains(streamed.status, R"("reason":"ExitCode","message":"3")"));

  // Stats, and a resource update that reaches the container's cgroup in the guest.
  cri::ContainerStatsRequest stats_request;
  stats_request.set_container_id(server);
  cri::ContainerStatsResponse stats;
  REQUIRE(node.Call(&Runtime::ContainerStats, stats_request, stats).ok());
  CHECK(stats.stats().memory().working_set_bytes().value() > 0);
  CHECK(stats.stats().cpu().usage_core_nano_seconds().value() > 0);
  cri::ListContainerStatsRequest list_stats;
  list_stats.mutable_filter()->set_pod_sandbox_id(pod);
  cri::ListContainerStatsResponse all_stats;
  REQUIRE(node.Call(&Runtime::ListContainerStats, list_stats, all_stats).ok());
  CHECK(all_stats.stats_size() == 2);
  // The VM before the update: its boot vCPU, its boot memory.
  const std::string mem_total = "sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo";
  const std::string cpus_online = "cat /sys/devices/system/cpu/online";
  int64_t mem_before_kb = 0;
  if (handler == "kata") {
    CHECK(Sh(node, client, cpus_online) == "0\n");
    mem_before_kb = std::stoll(Sh(node, client, mem_total));
  }
  cri::UpdateContainerResourcesRequest update;
  update.set_container_id(client);
  update.mutable_linux()->set_memory_limit_in_bytes(200 << 20);
  update.mutable_linux()->set_cpu_period(100000);
  update.mutable_linux()->set_cpu_quota(50000);
  cri::UpdateContainerResourcesResponse updated;
  const grpc::Status update_status = node.Call(&Runtime::UpdateContainerResources, update, updated);
  INFO(update_status.error_message());
  CHECK(update_status.ok());
  // No cgroup namespace on a cgroup v1 node (CRI adds one on v2 only): in the VM (cgroup v2)
  // /sys/fs/cgroup is the guest's whole hierarchy, and the container's own cgroup is where
  // /proc/self/cgroup says. (Under runc here it is the node's v1 hierarchies.)
  if (handler == "kata") {
    CHECK(Sh(node, client, "cd /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup) && cat memory.max cpu.max") == "209715200\n50000 100000\n");
    // The VM grew for the new limits, as Kata's does: half a CPU is one more vCPU, 200 MiB
    // two more 128 MiB memory blocks, hot-plugged and onlined in the guest.
    CHECK(Sh(node, client, cpus_online) == "0-1\n");
    const int64_t grown_kb = std::stoll(Sh(node, client, mem_total)) - mem_before_kb;
    INFO("MemTotal grew by " << grown_kb << " kB");
    CHECK(grown_kb > 200 * 1024);
    CHECK(grown_kb <= 256 * 1024);
  } else {
    CHECK(Sh(node, client, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes") == "209715200\n");
  }

  // A container stopped, removed and replaced while the pod runs (Kata never allowed this).
  REQUIRE(StopContainer(node, client, 2).ok());
  CHECK(ContainerStatus(node, client).state() == cri::CONTAINER_EXITED);
  REQUIRE(RemoveContainer(node, client).ok());
  const std::string again =
      StartedContainer(node, pod, pod_config, ContainerConfig(node, "client-2", "while :; do echo tick; sleep 1; done"));
  CHECK(Sh(node, again, kNs) == server_ns);
  // With the limited container gone, its vCPU went back (memory stays: it is never taken back).
  if (handler == "kata") CHECK(Sh(node, again, cpus_online) == "0\n");
  // Attach through the streaming server (`kubectl attach`): the running container's output.
  cri::AttachRequest attach_request;
  attach_request.set_container_id(again);
  attach_request.set_stdout(true);
  attach_request.set_stderr(true);
  cri::AttachResponse attach_response;
  REQUIRE(node.Call(&Runtime::Attach, attach_request, attach_response).ok());
  kata::runtime::testing::StreamedExec attached;
  REQUIRE(kata::netlink::RunInNetns(node.node().path(), [&] {
            attached = kata::runtime::testing::StreamExec(attach_response.url(), 30, "tick\n");
            return absl::OkStatus();
          }).ok());
  INFO(attach_response.url() << ": " << attached.error);
  CHECK(absl::StrContains(attached.out, "tick\n"));

  // The pod goes: its containers, its VM, its network; nothing is left on the node.
  StopAndRemovePod(node, pod);
  CHECK(node.AwaitClean() == "");
  CHECK(kata::testing::Capture("ls /run/netns") == netns_before);  // CRI's cni-<uuid> is gone
  for (const auto& h : kata::runtime::HostCgroupHierarchies()) {
    INFO(h.mount_point);
    CHECK(!std::filesystem::exists(h.mount_point + pod_cgroup));
  }
}

// What kubelet sees when a pod's container cannot run: a clear error, the pod still
// serving, and nothing left once the pod goes. Compared with runc's handler.
TEST_CASE("CRI: a missing image and a command not found fail clearly under runc and in the VM; nothing leaks", "[cri][e2e]") {
  KATA_REQUIRE_CRI();
  const std::string handler = GENERATE("runc", "kata");
  INFO("handler " << handler);
  CriNode node;
  kata::testing::WriteFile(node.tmp().Sub("etc-hosts"), "127.0.0.1\tlocalhost\n");
  const cri::PodSandboxConfig pod_config = PodConfig(node, "broken");
  const std::string pod = RunPod(node, pod_config, handler);

  // An image the node does not have: CreateContainer names it (no registry here to pull from).
  cri::ContainerConfig missing = ContainerConfig(node, "missing", "true");
  missing.mutable_image()->set_image("docker.io/library/kata-no-such-image:latest");
  std::string id;
  const grpc::Status no_image = CreateContainer(node, pod, pod_config, missing, id);
  INFO(no_image.error_message());
  CHECK(!no_image.ok());
  CHECK(absl::StrContains(no_image.error_message(), "kata-no-such-image"));

  // A command that is not in the image: StartContainer fails naming it, and the container's
  // status says so.
  cri::ContainerConfig not_found = ContainerConfig(node, "not-found", "");
  not_found.clear_command();
  not_found.clear_args();
  not_found.add_command("/bin/no-such-command");
  REQUIRE(CreateContainer(node, pod, pod_config, not_found, id).ok());
  const grpc::Status start = StartContainer(node, id);
  INFO(start.error_message());
  CHECK(!start.ok());
  CHECK(absl::StrContains(start.error_message(), "/bin/no-such-command"));
  const cri::ContainerStatus status = ContainerStatus(node, id);
  INFO(status.reason() << ": " << status.message());
  CHECK(status.state() == cri::CONTAINER_EXITED);
  CHECK(status.reason() == "StartError");
  CHECK(absl::StrContains(status.message(), "/bin/no-such-command"));
  CHECK(RemoveContainer(node, id).ok());

  // The pod is unharmed: a good container still starts in it.
  const std::string good = StartedContainer(node, pod, pod_config, ContainerConfig(node, "good", "exec sleep 3600"));
  CHECK(Sh(node, good, "echo alive") == "alive\n");

  StopAndRemovePod(node, pod);
  CHECK(node.AwaitClean() == "");
}

// containerd 1.6 with kata-erofs-snapshotter as its CRI snapshotter, as an operator installs
// it: CRI copies the image's VOLUME through the host mount helper, runc pods run from the
// helper's overlay, and in our VM the two containers of the image share the one merged
// layer disk.
TEST_CASE("CRI: pods on kata-erofs-snapshotter under runc and in one VM: the image's files and VOLUME, one shared layer disk",
          "[cri][e2e][erofs-snapshotter]") {
  KATA_REQUIRE_CRI();
  const std::string handler = GENERATE("runc", "kata");
  INFO("handler " << handler);
  kata::testing::TempDir snapshotter_dir;
  const std::string socket = snapshotter_dir.Sub("snapshotter.sock");
  kata::testing::Daemon snapshotter({KATA_SNAPSHOTTER_BIN, "--root", snapshotter_dir.Sub("root"), "--address", socket,
                                     "--writable-size", "256M"},
                                    snapshotter_dir.Sub("snapshotter.log"));
  snapshotter.WaitForPath(socket, 10000);
  CriNode node(socket);
  kata::testing::WriteFile(node.tmp().Sub("etc-hosts"), "127.0.0.1\tlocalhost\n");
  const cri::PodSandboxConfig pod_config = PodConfig(node, "erofs");
  const std::string pod = RunPod(node, pod_config, handler);
  std::vector<std::string> ids;
  for (const char* name : {"one", "two"}) {
    cri::ContainerConfig config = ContainerConfig(node, name, "exec sleep 3600");
    config.mutable_image()->set_image(kCriLayered);
    ids.push_back(StartedContainer(node, pod, pod_config, config));
  }
  for (const std::string& id : ids) {
    // The layers' changes as overlayfs shows them; /data is CRI's volume, copied from the
    // image on the host (through kata-erofs-mount) before the container started.
    CHECK(Sh(node, id, "cat /etc/three /data/change /data/keep /added; ls /opq; ls /dir-gone; ls /later-gone 2>&1 || true") ==
          "3\nv3\nbase\ntwo\nnew\nb\nls: /later-gone: No such file or directory\n");
    CHECK(Sh(node, id, "grep -c ' /data ' /proc/self/mountinfo") == "1\n");
  }
  // Each container writes into a writable layer of its own.
  Sh(node, ids[0], "echo mine > /etc/mine");
  CHECK(Sh(node, ids[1], "ls /etc/mine 2>&1 || true") == "ls: /etc/mine: No such file or directory\n");
  if (handler == "kata") {
    // One QEMU for the pod, with the image's merged layer open once for both containers.
    const std::vector<int> qemu = kata::runtime::testing::PidsOfProcessesNaming("qemu-system", node.tmp().path());
    REQUIRE(qemu.size() == 1);
    const std::string fds = kata::testing::Capture("ls -l /proc/" + std::to_string(qemu[0]) + "/fd");
    INFO(fds);
    CHECK(std::count(fds.begin(), fds.end(), '\n') > 0);
    size_t merged = 0;
    for (size_t at = fds.find("merged.erofs"); at != std::string::npos; at = fds.find("merged.erofs", at + 1)) ++merged;
    CHECK(merged == 1);
  }
  StopAndRemovePod(node, pod);
  CHECK(node.AwaitClean() == "");
}
