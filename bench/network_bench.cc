// network-bench: a pod's CNI network (Debian's bridge + host-local, in netns this bench makes;
// the bridge in a second netns standing in for the host's) with busybox httpd in a container,
// under runc (the container joins the pod's netns) and in a VM (kata: tap + tc mirred +
// virtio-net), alternating in one run. From the bridge's side: TCP throughput (one GET of a
// 32 MiB file) and request latency (a new connection and a GET of a small file, 20 in a row).
// The ratios are reported, no goal: under TCG the guest's CPU is emulated, so the VM's network
// path is bounded by QEMU's translation, not by the network model (docs/networking.md).
// Usage: network-bench --image DIR [--runs N]   (root; runc)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench/bench_support.h"
#include "host-runtime/sandbox/sandbox.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/netlink/netns_thread.h"
#include "libkata/oci/spec.h"

namespace {

using kata::StrCat;
using kata::bench::Report;
using kata::bench::Stats;

constexpr int kPort = 8080;
constexpr size_t kBigBytes = 32u << 20;
constexpr int kRequests = 20;

int Fail(const std::string& what) {
  std::fprintf(stderr, "network-bench: %s\n", what.c_str());
  return 1;
}

bool Sh(const std::string& command) { return std::system(command.c_str()) == 0; }

std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// One HTTP GET on a new connection: the bytes of the body, or -1.
int64_t Get(const std::string& ip, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kPort);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  int64_t body = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = StrCat("GET ", path, " HTTP/1.0\r\nHost: ", ip, "\r\n\r\n");
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      static thread_local char buf[1 << 16];
      int64_t total = 0, header = -1;
      std::string head;
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        if (header < 0) {
          head.append(buf, static_cast<size_t>(n));
          const size_t end = head.find("\r\n\r\n");
          if (end != std::string::npos) header = static_cast<int64_t>(end + 4);
        }
        total += n;
      }
      if (header >= 0 && head.rfind("HTTP/1.", 0) == 0 && head.find(" 200 ") != std::string::npos) body = total - header;
    }
  }
  ::close(fd);
  return body;
}

struct Sample {
  double mbit = 0;
  double latency_ms = 0;
};

// From the bridge's netns: waits for the server, then the big GET and the small ones.
absl::StatusOr<Sample> Measure(const std::string& host_netns, const std::string& ip) {
  Sample s;
  absl::Status result = kata::netlink::RunInNetns(host_netns, [&]() -> absl::Status {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (Get(ip, "/small") != 5) {
      if (absl::Now() > deadline) return absl::DeadlineExceededError(StrCat("no answer from ", ip, ":", kPort));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const absl::Time start = absl::Now();
    const int64_t got = Get(ip, "/big");
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (got != static_cast<int64_t>(kBigBytes)) return absl::InternalError(StrCat("/big: ", got, " bytes"));
    s.mbit = static_cast<double>(kBigBytes) * 8 / 1e6 / seconds;
    Stats lat;
    for (int i = 0; i < kRequests; ++i) {
      const absl::Time t = absl::Now();
      if (Get(ip, "/small") != 5) return absl::InternalError("/small failed");
      lat.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
    }
    s.latency_ms = lat.Median();
    return absl::OkStatus();
  });
  if (!result.ok()) return result;
  return s;
}

const char kServe[] =
    "mkdir -p /tmp/www && printf small > /tmp/www/small && dd if=/dev/zero of=/tmp/www/big bs=1M count=32 2>/dev/null"
    " && exec httpd -f -p 8080 -h /tmp/www";

std::string SpecJson(const std::string& netns, const std::string& root) {
  return R"({"ociVersion": "1.1.0", "root": {"path": ")" + root + R"("},
    "process": {"cwd": "/", "env": ["PATH=/bin"], "args": ["sh", "-c", ")" + std::string(kServe) + R"("]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                             {"type": "network", "path": ")" + netns + R"("}]}})";
}

}  // namespace

int main(int argc, char** argv) {
  std::string image;
  int runs = 5;
  if (!kata::bench::ParseImageAndRuns(argc, argv, "network-bench", image, runs)) return 1;

  char tmpl[] = "/tmp/network-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Fail("mkdtemp");
  const std::string tmp = tmpl;
  const std::string pid = std::to_string(::getpid());
  const std::string host_ns = "kbench-h" + pid, pod_ns = "kbench-p" + pid;
  const std::string pod_path = "/run/netns/" + pod_ns;
  auto cleanup = [&] {
    Sh("ip netns del " + pod_ns + " 2>/dev/null; ip netns del " + host_ns + " 2>/dev/null; rm -rf " + tmp);
  };
  // The network, as the tests make it (host-runtime/tests/cni_network.h).
  kata::WriteFileAtomically(tmp + "/cni.json", R"({"cniVersion": "1.0.0", "name": "bench", "type": "bridge",
    "bridge": "kbr0", "isGateway": true, "ipMasq": false,
    "ipam": {"type": "host-local", "dataDir": ")" + tmp + R"(/ipam", "ranges": [[{"subnet": "10.78.0.0/24"}]],
             "routes": [{"dst": "0.0.0.0/0"}]}})").IgnoreError();
  kata::WriteFileAtomically(tmp + "/lo.json", R"({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"})").IgnoreError();
  const std::string cni_env = "CNI_CONTAINERID=bench CNI_NETNS=" + pod_path + " CNI_PATH=/usr/lib/cni ";
  if (!Sh("ip netns add " + host_ns + " && ip netns add " + pod_ns + " && ip netns exec " + host_ns + " ip link set lo up && " +
          "ip netns exec " + host_ns + " env CNI_COMMAND=ADD CNI_IFNAME=lo " + cni_env + "/usr/lib/cni/loopback < " + tmp +
          "/lo.json >/dev/null")) {
    cleanup();
    return Fail("netns or the loopback plugin");
  }
  const std::string result = Capture("ip netns exec " + host_ns + " env CNI_COMMAND=ADD CNI_IFNAME=eth0 " + cni_env +
                                     "/usr/lib/cni/bridge < " + tmp + "/cni.json");
  const size_t at = result.find("\"address\": \"");
  if (at == std::string::npos) {
    cleanup();
    return Fail("the bridge plugin: " + result);
  }
  const std::string ip = result.substr(at + 12, result.find('/', at + 12) - at - 12);

  // Root filesystems: a directory for runc, an ext4 image for the VM (busybox-static).
  const std::string rootfs = tmp + "/rootfs";
  Sh("mkdir -p " + rootfs + "/bin " + rootfs + "/proc " + rootfs + "/dev " + rootfs + "/tmp && cp /bin/busybox " + rootfs +
     "/bin/ && for a in sh mkdir printf dd httpd; do ln -sf busybox " + rootfs + "/bin/$a; done");
  Sh("mkfs.ext4 -q -F -d " + rootfs + " " + tmp + "/root.img 64M >/dev/null 2>&1");
  const std::string bundle = tmp + "/bundle";
  Sh("mkdir -p " + bundle);
  kata::WriteFileAtomically(bundle + "/config.json", SpecJson(pod_path, rootfs)).IgnoreError();

  kata::config::Config config;
  config.hypervisor.kernel = image + "/vmlinux";
  config.hypervisor.initrd = image + "/kata-initrd.img";
  config.hypervisor.memory_mib = 512;
  config.hypervisor.hotplug_root_ports = 2;
  config.runtime.state_dir = tmp + "/state";
  auto spec = kata::oci::ParseSpecJson(SpecJson(pod_path, "rootfs"), "bench spec");
  if (!spec.ok()) {
    cleanup();
    return Fail(std::string(spec.status().message()));
  }

  Stats runc_mbit, kata_mbit, runc_lat, kata_lat;
  int failures = 0;
  for (int r = 0; r < runs; ++r) {
    // runc: the container joins the pod's netns.
    const std::string id = "netbench-" + pid + "-" + std::to_string(r);
    if (Sh("runc --root " + tmp + "/runc run -d --bundle " + bundle + " " + id + " >/dev/null 2>&1 </dev/null")) {
      auto s = Measure("/run/netns/" + host_ns, ip);
      Sh("runc --root " + tmp + "/runc kill " + id + " KILL >/dev/null 2>&1; sleep 0.2; runc --root " + tmp +
         "/runc delete -f " + id + " >/dev/null 2>&1");
      if (s.ok()) {
        runc_mbit.ms.push_back(s->mbit);
        runc_lat.ms.push_back(s->latency_ms);
      } else {
        std::fprintf(stderr, "network-bench: runc: %s\n", std::string(s.status().message()).c_str());
        ++failures;
      }
    } else {
      ++failures;
    }
    // kata: the same container in a VM given the pod's network.
    auto sb = kata::runtime::Sandbox::Create("netbench", config, std::nullopt,
                                             kata::runtime::SandboxNetworkSpec{pod_path, {}});
    if (!sb.ok()) {
      std::fprintf(stderr, "network-bench: sandbox: %s\n", std::string(sb.status().message()).c_str());
      ++failures;
      continue;
    }
    absl::Status s = (*sb)->CreateContainer("netbench", *spec, {{"ext4", tmp + "/root.img", "", {"rw"}}});
    if (s.ok()) s = (*sb)->StartContainer("netbench");
    if (s.ok()) {
      auto m = Measure("/run/netns/" + host_ns, ip);
      s = m.status();
      if (m.ok()) {
        kata_mbit.ms.push_back(m->mbit);
        kata_lat.ms.push_back(m->latency_ms);
      }
    }
    if (!s.ok()) {
      std::fprintf(stderr, "network-bench: kata: %s\n", std::string(s.message()).c_str());
      ++failures;
    }
    (void)(*sb)->Destroy();
  }
  cleanup();
  std::printf("throughput, bridge -> container (32 MiB GET): runc median %.0f Mbit/s, kata %.0f Mbit/s (%zu/%zu runs)\n",
              runc_mbit.Median(), kata_mbit.Median(), runc_mbit.ms.size(), kata_mbit.ms.size());
  std::printf("request latency (connect + small GET, median of %d): runc %.2f ms, kata %.2f ms\n", kRequests,
              runc_lat.Median(), kata_lat.Median());
  if (runc_mbit.ms.empty() || kata_mbit.ms.empty()) return Fail("no runs measured");
  Report("net_throughput_runc_mbit", runc_mbit.Median());
  Report("net_throughput_kata_mbit", kata_mbit.Median());
  Report("net_latency_runc_ms", runc_lat.Median());
  Report("net_latency_kata_ms", kata_lat.Median());
  return failures == 0 ? 0 : 1;
}
