// container-ready-bench: a container on a 2-device EROFS rootfs (an ext4 upper, one EROFS
// lower), each figure next to its reference measured in the same run:
//   ready:       the two disks hot-plugged (in parallel) + CreateContainer + StartContainer
//                answered, in a warm sandbox; next to one hot-plug round trip (device_add ->
//                the agent has the device) in the same VM, alternating;
//   boot+ready:  Sandbox::Create -> StartContainer answered for the sandbox's first container,
//                its disks on QEMU's command line (what `kata-runtime run` and the shim's first
//                task do) against hot-plugged after boot, alternating;
//   footprint:   the agent's RSS and threads after one container (its GetMetrics), QEMU's PSS
//                of an idle sandbox next to the guest's memory.
// Usage: container-ready-bench --image DIR [--runs N]

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "host-runtime/sandbox/sandbox.h"
#include "libkata/base/str_cat.h"
#include "libkata/oci/spec.h"

namespace {

using kata::StrCat;
using kata::bench::Report;
using kata::bench::Stats;
using kata::runtime::RootfsMount;
using kata::runtime::Sandbox;

int Fail(const std::string& what) {
  std::fprintf(stderr, "container-ready-bench: %s\n", what.c_str());
  return 1;
}

bool Sh(const std::string& command) { return std::system(command.c_str()) == 0; }

// The EROFS snapshotter's shape (containerd 2.2) for an ext4 upper and one EROFS layer.
std::vector<RootfsMount> Mounts(const std::string& upper, const std::string& layer) {
  return {{"ext4", upper, "", {"rw", "loop"}},
          {"erofs", layer, "", {"ro", "loop"}},
          {"format/mkdir/overlay", "overlay", "",
           {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper",
            "workdir={{ mount 0 }}/work", "lowerdir={{ mount 1 }}"}}};
}

// A value of the agent's metrics text (Prometheus), or -1.
double Metric(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + key.size());
}

// A number in the agent's "container created" console line for `id`, or -1: where the
// agent's part of CreateContainer went, by its own clock.
double AgentCreated(const std::string& console, const std::string& id, const std::string& field) {
  const size_t line = console.rfind("\"container_id\":\"" + id + "\",\"process_pid\"");
  if (line == std::string::npos) return -1;
  const std::string key = "\"" + field + "\":";
  const size_t at = console.find(key, line);
  const size_t end = console.find('\n', line);
  if (at == std::string::npos || at > end) return -1;
  return std::atof(console.c_str() + at + key.size());
}

// Create, start, wait for `id` to exit 0; the host's timings of it.
absl::StatusOr<kata::runtime::ContainerTimings> RunOne(Sandbox& sb, const std::string& id, const kata::oci::Spec& spec,
                                                       const std::vector<RootfsMount>& mounts) {
  if (absl::Status s = sb.CreateContainer(id, spec, mounts); !s.ok()) return s;
  if (absl::Status s = sb.StartContainer(id); !s.ok()) return s;
  auto status = sb.WaitProcess(id);
  if (!status.ok()) return status.status();
  if (*status != 0) return absl::InternalError(StrCat(id, " exited ", *status));
  return sb.timings(id);
}

}  // namespace

int main(int argc, char** argv) {
  std::string image;
  int runs = 5;
  if (!kata::bench::ParseImageAndRuns(argc, argv, "container-ready-bench", image, runs)) return 1;
  char tmpl[] = "/tmp/container-ready-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Fail("mkdtemp");
  const std::string tmp = tmpl;
  if (!Sh("mkdir -p " + tmp + "/tree/bin " + tmp + "/tree/proc " + tmp + "/tree/dev && cp /bin/busybox " + tmp +
          "/tree/bin/ && ln -s busybox " + tmp + "/tree/bin/sh && mkfs.erofs --quiet " + tmp + "/layer.erofs " + tmp +
          "/tree && mkfs.ext4 -q -F " + tmp + "/rw.img 32M && truncate -s 1M " + tmp + "/plain.raw")) {
    return Fail("make the layer, the upper and the probe disk (busybox, mkfs.erofs, mkfs.ext4)");
  }
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["/bin/sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}})", "bench spec");
  if (!spec.ok()) return Fail(std::string(spec.status().message()));
  const auto mounts = Mounts(tmp + "/rw.img", tmp + "/layer.erofs");

  kata::config::Config config;
  config.hypervisor.kernel = image + "/vmlinux";
  config.hypervisor.initrd = image + "/kata-initrd.img";
  config.hypervisor.memory_mib = 512;
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.runtime.state_dir = tmp + "/state";
  kata::log::Logger::Global().SetLevel(kata::log::Level::kWarn);

  // A warm sandbox: ready next to the round trip, alternating.
  Stats ready, round_trip, attach, create, start, storages, plan, launch;
  double qemu_pss_kib = -1, agent_rss_kib = -1, agent_threads = -1;
  kata::bench::QemuPss qemu_pss;
  {
    auto sb = Sandbox::Create("ready", config);
    if (!sb.ok()) return Fail(std::string(sb.status().message()));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // idle: the boot's work done
    qemu_pss_kib = static_cast<double>(kata::bench::PssKib((*sb)->vm().qemu_pid()));
    qemu_pss = kata::bench::QemuPssBreakdown((*sb)->vm().qemu_pid(), static_cast<int64_t>(config.hypervisor.memory_mib) * 1024);
    for (int r = -1; r < runs; ++r) {  // run -1 warms the guest's ext4, EROFS and overlay paths
      const std::string id = StrCat("c", r + 1);
      auto t = RunOne(**sb, id, *spec, mounts);
      if (!t.ok()) return Fail(StrCat(id, ": ", t.status().message()));
      if (r == -1) {
        kata::agent::Metrics metrics;
        if (!kata::agent_api::AgentStub((*sb)->vm().agent_client()).GetMetrics({}, &metrics).ok()) return Fail("GetMetrics");
        agent_rss_kib = Metric(metrics.metrics(), "kata_agent_process_resident_memory_bytes") / 1024;
        agent_threads = Metric(metrics.metrics(), "kata_agent_process_threads");
      } else {
        ready.ms.push_back(absl::ToDoubleMilliseconds(t->attach + t->create + t->start));
        attach.ms.push_back(absl::ToDoubleMilliseconds(t->attach));
        create.ms.push_back(absl::ToDoubleMilliseconds(t->create));
        start.ms.push_back(absl::ToDoubleMilliseconds(t->start));
        auto console = kata::ReadFileToString((*sb)->vm().console_log(), 16u << 20);
        if (!console.ok()) return Fail(std::string(console.status().message()));
        storages.ms.push_back(AgentCreated(*console, id, "storages_ms"));
        plan.ms.push_back(AgentCreated(*console, id, "plan_ms"));
        launch.ms.push_back(AgentCreated(*console, id, "launch_ms"));
      }
      if (absl::Status s = (*sb)->RemoveContainer(id); !s.ok()) return Fail(StrCat(id, ": ", s.message()));
      if (r == -1) continue;
      auto trip = kata::bench::HotplugRoundTrip((*sb)->vm(), tmp + "/plain.raw");
      if (!trip.ok()) return Fail(std::string(trip.status().message()));
      round_trip.ms.push_back(absl::ToDoubleMilliseconds(*trip));
    }
    (void)(*sb)->Destroy();
  }

  // The first container of a new sandbox, its disks cold-plugged or hot-plugged, alternating.
  Stats cold, hot, cold_storages;
  for (int r = 0; r < runs; ++r) {
    for (const bool at_boot : {true, false}) {
      const std::string id = StrCat(at_boot ? "cold" : "hot", r);
      const absl::Time t = absl::Now();
      auto sb = at_boot ? Sandbox::Create(id, config, kata::runtime::BootRootfs{"c", mounts}) : Sandbox::Create(id, config);
      if (!sb.ok()) return Fail(StrCat(id, ": ", sb.status().message()));
      absl::Status s = (*sb)->CreateContainer("c", *spec, mounts);
      if (s.ok()) s = (*sb)->StartContainer("c");
      if (!s.ok()) return Fail(StrCat(id, ": ", s.message()));
      (at_boot ? cold : hot).ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
      auto status = (*sb)->WaitProcess("c");
      if (!status.ok() || *status != 0) return Fail(StrCat(id, ": the container failed"));
      if (at_boot) {  // its disks were there before the agent: the storages' time is mounting alone
        auto console = kata::ReadFileToString((*sb)->vm().console_log(), 16u << 20);
        if (console.ok()) cold_storages.ms.push_back(AgentCreated(*console, "c", "storages_ms"));
      }
      if (absl::Status d = (*sb)->Destroy(); !d.ok()) return Fail(StrCat(id, ": ", d.message()));
    }
  }
  Sh("rm -rf " + tmp);

  std::printf("container-ready-bench: %s, TCG, 1 vCPU, %llu MiB, a 2-device EROFS rootfs (ext4 upper + 1 EROFS lower)\n",
              image.c_str(), static_cast<unsigned long long>(config.hypervisor.memory_mib));
  std::printf("ready   (hot-plug both + create + start):    %s\n", ready.Summary().c_str());
  std::printf("   of which attach %s\n", attach.Summary().c_str());
  std::printf("   of which create %s\n", create.Summary().c_str());
  std::printf("      in the agent: storages (device waits, mounts) %s\n", storages.Summary().c_str());
  std::printf("      in the agent: devices, plan, cgroup           %s\n", plan.Summary().c_str());
  std::printf("      in the agent: the init launched (namespaces, mounts, pivot_root) %s\n", launch.Summary().c_str());
  std::printf("   of which start  %s\n", start.Summary().c_str());
  std::printf("round trip (device_add -> agent has it):     %s\n", round_trip.Summary().c_str());
  std::printf("boot+ready, disks on QEMU's command line:    %s\n", cold.Summary().c_str());
  std::printf("boot+ready, disks hot-plugged after boot:    %s\n", hot.Summary().c_str());
  std::printf("   the agent's storages with the disks there at boot (mounting only, a fresh guest) %s\n",
              cold_storages.Summary().c_str());
  std::printf("agent after one container: RSS %.0f KiB, %.0f threads\n", agent_rss_kib, agent_threads);
  std::printf("QEMU PSS of an idle sandbox: %.0f KiB for %llu MiB of guest memory\n", qemu_pss_kib,
              static_cast<unsigned long long>(config.hypervisor.memory_mib));
  std::printf("   of which the guest's RAM (what it touched) %lld KiB, TCG's translated code %lld KiB, the rest %lld KiB\n",
              static_cast<long long>(qemu_pss.guest_ram), static_cast<long long>(qemu_pss.code_buffer),
              static_cast<long long>(qemu_pss.other));
  Report("container_ready_ms", ready.Median());
  Report("container_attach_ms", attach.Median());
  Report("container_create_ms", create.Median());
  Report("container_start_ms", start.Median());
  Report("agent_storages_ms", storages.Median());
  Report("agent_plan_ms", plan.Median());
  Report("agent_launch_ms", launch.Median());
  Report("container_hotplug_round_trip_ms", round_trip.Median());
  Report("boot_ready_cold_plug_ms", cold.Median());
  Report("boot_ready_hot_plug_ms", hot.Median());
  Report("agent_storages_no_wait_ms", cold_storages.Median());
  Report("agent_rss_kib", agent_rss_kib);
  Report("agent_threads", agent_threads);
  Report("qemu_idle_pss_kib", qemu_pss_kib);
  Report("guest_memory_kib", config.hypervisor.memory_mib * 1024.0);
  Report("qemu_idle_pss_guest_ram_kib", static_cast<double>(qemu_pss.guest_ram));
  Report("qemu_idle_pss_code_buffer_kib", static_cast<double>(qemu_pss.code_buffer));
  Report("qemu_idle_pss_other_kib", static_cast<double>(qemu_pss.other));
  return 0;
}
