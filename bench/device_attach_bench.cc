// device-attach-bench: a container's linux.devices, 1, 4 and 16 host block devices (loop
// devices), hot-plugged all at once (devices/device_attacher, the shim's and kata-runtime's
// path) until the agent has every one of them, next to one hot-plug round trip in the same VM,
// alternating. Goal (issue 16): all devices of a container within 1.5 x one round trip.
// Also the whole container (rootfs + devices + create + start) with each count.
// Usage: device-attach-bench --image DIR [--runs N]   (root: loop devices)

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "host-runtime/devices/device_attacher.h"
#include "host-runtime/sandbox/sandbox.h"
#include "libkata/base/str_cat.h"
#include "libkata/oci/spec.h"

namespace {

using kata::StrCat;
using kata::bench::Report;
using kata::bench::Stats;
using kata::runtime::Sandbox;

int Fail(const std::string& what) {
  std::fprintf(stderr, "device-attach-bench: %s\n", what.c_str());
  return 1;
}

bool Sh(const std::string& command) { return std::system(command.c_str()) == 0; }

struct Loop {
  std::string node;
  unsigned major = 0, minor = 0;
};

// `devices` attached at once until the agent has all of them (bench_support's probe), then
// detached. The time to the agent's answer; `attach_ms` gets the host's part (QMP).
absl::StatusOr<absl::Duration> DevicesRoundTrip(kata::runtime::SandboxVm& vm, const std::vector<Loop>& devices,
                                                double* attach_ms) {
  kata::runtime::DevicePlan plan;
  for (size_t i = 0; i < devices.size(); ++i) {
    plan.block.push_back({static_cast<int>(i), StrCat("/dev/x", i), devices[i].node, false});
  }
  const absl::Time start = absl::Now();
  auto attached = kata::runtime::AttachDevices(vm.block_devices(), plan);
  if (!attached.ok()) return attached.status();
  if (attach_ms != nullptr) *attach_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  const absl::Status s = kata::bench::AgentHasDevices(vm, attached->blocks);
  const absl::Duration seen = absl::Now() - start;
  const absl::Status detached = kata::runtime::DetachDevices(vm.block_devices(), *attached);
  if (!s.ok()) return s;
  if (!detached.ok()) return detached;
  return seen;
}

}  // namespace

int main(int argc, char** argv) {
  std::string image;
  int runs = 5;
  if (!kata::bench::ParseImageAndRuns(argc, argv, "device-attach-bench", image, runs)) return 1;
  char tmpl[] = "/tmp/device-attach-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Fail("mkdtemp");
  const std::string tmp = tmpl;
  if (!Sh("mkdir -p " + tmp + "/tree/bin " + tmp + "/tree/proc " + tmp + "/tree/dev && cp /bin/busybox " + tmp +
          "/tree/bin/ && ln -s busybox " + tmp + "/tree/bin/sh && mkfs.ext4 -q -F -d " + tmp + "/tree " + tmp +
          "/root.img 32M && truncate -s 1M " + tmp + "/plain.raw")) {
    return Fail("make the rootfs and the probe disk (busybox, mkfs.ext4)");
  }
  constexpr int kMaxDevices = 16;
  std::vector<Loop> loops;
  auto cleanup = [&] {
    for (const Loop& l : loops) Sh("losetup -d " + l.node);
    Sh("rm -rf " + tmp);
  };
  for (int i = 0; i < kMaxDevices; ++i) {
    const std::string file = StrCat(tmp, "/dev", i, ".img");
    const std::string out = StrCat(tmp, "/dev", i, ".loop");
    if (!Sh("truncate -s 1M " + file + " && losetup --find --show " + file + " > " + out)) {
      cleanup();
      return Fail("losetup (root, loop devices)");
    }
    auto node = kata::ReadFileToString(out, 4096);
    Loop l;
    l.node = node.ok() ? node->substr(0, node->find('\n')) : "";
    struct stat st;
    if (l.node.empty() || ::stat(l.node.c_str(), &st) != 0) {
      cleanup();
      return Fail("a loop device has no node");
    }
    l.major = major(st.st_rdev);
    l.minor = minor(st.st_rdev);
    loops.push_back(l);
  }

  kata::config::Config config;
  config.hypervisor.kernel = image + "/vmlinux";
  config.hypervisor.initrd = image + "/kata-initrd.img";
  config.hypervisor.memory_mib = 512;
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.hypervisor.hotplug_root_ports = kMaxDevices + 1;  // and the rootfs
  config.runtime.state_dir = tmp + "/state";
  kata::log::Logger::Global().SetLevel(kata::log::Level::kWarn);

  const std::vector<int> counts = {1, 4, kMaxDevices};
  Stats round_trip;
  std::map<int, Stats> devices_trip, devices_host, ready;
  {
    auto sb = Sandbox::Create("devices", config);
    if (!sb.ok()) {
      cleanup();
      return Fail(std::string(sb.status().message()));
    }
    const std::vector<kata::runtime::RootfsMount> rootfs = {{"ext4", tmp + "/root.img", "", {"rw"}}};
    for (int r = -1; r < runs; ++r) {  // run -1 warms the guest's hot-plug and probe paths
      auto trip = kata::bench::HotplugRoundTrip((*sb)->vm(), tmp + "/plain.raw");
      if (!trip.ok()) return cleanup(), Fail(std::string(trip.status().message()));
      if (r >= 0) round_trip.ms.push_back(absl::ToDoubleMilliseconds(*trip));
      for (int n : counts) {
        double host_ms = 0;
        auto all = DevicesRoundTrip((*sb)->vm(), std::vector<Loop>(loops.begin(), loops.begin() + n), &host_ms);
        if (!all.ok()) return cleanup(), Fail(StrCat(n, " devices: ", all.status().message()));
        if (r >= 0) devices_trip[n].ms.push_back(absl::ToDoubleMilliseconds(*all));
        if (r >= 0) devices_host[n].ms.push_back(host_ms);
        // The whole container: its rootfs and n devices, created and started.
        std::string devices_json, rules_json;
        for (int i = 0; i < n; ++i) {
          devices_json += StrCat(i ? "," : "", "{\"path\": \"/dev/x", i, "\", \"type\": \"b\", \"major\": ", loops[i].major,
                                 ", \"minor\": ", loops[i].minor, "}");
          rules_json += StrCat(",{\"allow\": true, \"type\": \"b\", \"major\": ", loops[i].major, ", \"minor\": ", loops[i].minor,
                               ", \"access\": \"rw\"}");
        }
        auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
          "process": {"args": ["/bin/sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin"]},
          "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                     {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
          "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "devices": [)" + devices_json + R"(],
                    "resources": {"devices": [{"allow": false, "access": "rwm"})" + rules_json + "]}}}",
                                             "bench spec");
        if (!spec.ok()) return cleanup(), Fail(std::string(spec.status().message()));
        const std::string id = StrCat("c", n, "-", r + 1);
        absl::Status s = (*sb)->CreateContainer(id, *spec, rootfs);
        if (s.ok()) s = (*sb)->StartContainer(id);
        if (!s.ok()) return cleanup(), Fail(StrCat(id, ": ", s.message()));
        const auto t = (*sb)->timings(id);
        if (r >= 0) ready[n].ms.push_back(absl::ToDoubleMilliseconds(t.attach + t.create + t.start));
        auto status = (*sb)->WaitProcess(id);
        if (!status.ok() || *status != 0) return cleanup(), Fail(StrCat(id, ": the container failed"));
        if (absl::Status d = (*sb)->RemoveContainer(id); !d.ok()) return cleanup(), Fail(StrCat(id, ": ", d.message()));
      }
    }
    (void)(*sb)->Destroy();
  }
  cleanup();

  std::printf("device-attach-bench: %s, TCG, 1 vCPU, host loop devices hot-plugged at once\n", image.c_str());
  std::printf("one hot-plug round trip (device_add -> agent has it): %s\n", round_trip.Summary().c_str());
  for (int n : counts) {
    std::printf("%2d devices until the agent has all: %s\n", n, devices_trip[n].Summary().c_str());
    std::printf("   of which QMP (blockdev-add + device_add of each, at once) %s\n", devices_host[n].Summary().c_str());
    std::printf("%2d devices, the whole container ready (rootfs + devices + create + start): %s\n", n,
                ready[n].Summary().c_str());
  }
  Report("device_hotplug_round_trip_ms", round_trip.Median());
  for (int n : counts) {
    Report(StrCat("devices_", n, "_attached_ms"), devices_trip[n].Median());
    Report(StrCat("devices_", n, "_qmp_ms"), devices_host[n].Median());
    Report(StrCat("devices_", n, "_container_ready_ms"), ready[n].Median());
  }
  return 0;
}
