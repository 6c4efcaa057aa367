// End to end with a real guest: the image rootfs-builder made (KATA_GUEST_IMAGE_DIR), QEMU
// (TCG here), kata-agent as the VM's /init over virtio-serial, hot-plugged disks found by the
// agent through their PCI paths, and nothing left behind after Stop().

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "host-runtime/tests/vm_test_support.h"
#include "host-runtime/vm/qemu_command.h"
#include "host-runtime/vm/sandbox_vm.h"
#include "host-runtime/vm/vmdk.h"
#include "libkata/base/file_util.h"
#include "libkata/kernel/guest_kernel_requirements.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"
#include "libkata/agent_api/agent_api.h"

using kata::runtime::BlockAttachRequest;
using kata::runtime::BlockFormat;
using kata::runtime::SandboxVm;
using kata::runtime::testing::Capture;
using kata::runtime::testing::Md5;
using kata::runtime::testing::VmConfig;
using kata::runtime::testing::WriteRandom;

namespace {

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Nothing of the VM remains: QEMU reaped, the sandbox's state directory gone.
void CheckNothingLeft(pid_t qemu, const std::string& state_dir) {
  CHECK(ProcessGone(qemu));
  CHECK_FALSE(std::filesystem::exists(state_dir));
}

absl::Status Check(const std::shared_ptr<kata::ttrpc::Client>& client) {
  kata::agent::CheckRequest req;
  kata::agent::HealthCheckResponse resp;
  return kata::agent_api::AgentStub(client).Check(req, &resp, absl::Seconds(10));
}

kata::oci::Spec ContainerSpec(const std::string& rootfs, const std::string& script) {
  auto spec = kata::oci::ParseSpecJson(R"({
    "ociVersion": "1.1.0",
    "root": {"path": ")" + rootfs + R"("},
    "process": {"cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}, "args": ["sh", "-c"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
              "devices": [{"path": "/dev/layers", "type": "b", "major": 7, "minor": 0}],
              "resources": {"devices": [{"allow": false, "access": "rwm"},
                                        {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "rw"}]}}
  })", "e2e spec");
  REQUIRE(spec.ok());
  spec->mutable_process()->add_args(script);
  return *spec;
}

}  // namespace

TEST_CASE("vm: boots, the agent answers over virtio-serial, survives reconnects, stops clean", "[vm][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto vm = SandboxVm::Start("e2e-boot", VmConfig(tmp));
  INFO(vm.status());
  REQUIRE(vm.ok());
  const auto& t = (*vm)->timings();
  std::printf("kata-measure: accel=%s (%s) qmp_ready_ms=%lld agent_ready_ms=%lld\n",
              std::string(kata::config::AccelName((*vm)->accel())).c_str(), (*vm)->accel_reason().c_str(),
              static_cast<long long>(absl::ToInt64Milliseconds(t.qmp_ready)),
              static_cast<long long>(absl::ToInt64Milliseconds(t.agent_ready)));
  CHECK((*vm)->agent_address().kind == kata::runtime::AgentAddress::Kind::kSerial);

  // Kept across the reconnects: a stub on the old channel must not hold the port.
  const kata::agent_api::AgentStub agent((*vm)->agent_client());
  kata::agent::GuestDetailsRequest req;
  kata::agent::GuestDetailsResponse details;
  REQUIRE(agent.GetGuestDetails(req, &details).ok());
  CHECK(details.kernel_release().rfind("6.12.", 0) == 0);
  CHECK(details.agent_details().init_daemon());
  // What the agent finds missing in the kernel it runs on is what the kernel's own .config
  // says is missing (options built as modules aside: the initrd decides those). For our
  // minimal kernel both are empty.
  {
    auto config_text = kata::ReadFileToString(kata::runtime::testing::ImageDir() + "/vmlinux.config", 1 << 22);
    REQUIRE(config_text.ok());
    const auto config = kata::kernel::ParseKernelConfig(*config_text);
    std::set<std::string> expected, reported;
    for (const auto& s : kata::kernel::ConfigShortfalls(config, {})) {
      if (s.requirement->probe == kata::kernel::ProbeKind::kNone || s.detail != "not set") continue;
      expected.insert(std::string(s.requirement->option));
    }
    for (const auto& lack : details.kernel_lacks()) {
      const std::string option = lack.substr(0, lack.find(' '));
      auto it = config.find(option);
      if (it == config.end() || it->second != "m") reported.insert(option);
    }
    CHECK(reported == expected);
    CHECK(details.agent_details().supports_seccomp() == !expected.contains("CONFIG_SECCOMP_FILTER"));
    if (config.contains("CONFIG_LOCALVERSION") && config.at("CONFIG_LOCALVERSION") == "\"-kata-guest\"") {
      CHECK(details.kernel_release().ends_with("-kata-guest"));
      CHECK(details.kernel_lacks().empty());
    }
  }

  // The host goes away and comes back, twice: the agent serves each new connection.
  for (int i = 0; i < 2; ++i) {
    const absl::Time start = absl::Now();
    const absl::Status reconnected = (*vm)->ReconnectAgent();
    INFO(reconnected << "\nconsole: " << kata::ReadFileTail((*vm)->console_log(), 2000));
    REQUIRE(reconnected.ok());
    const absl::Status s = Check((*vm)->agent_client());
    INFO(s.message());
    CHECK(s.ok());
    std::printf("kata-measure: reconnect_ms=%lld\n", static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)));
  }
  // The first connection is gone for good: its stub fails, it does not hang.
  CHECK_FALSE(agent.GetGuestDetails(req, &details, absl::Seconds(10)).ok());
  const pid_t qemu = (*vm)->qemu_pid();
  const std::string state = (*vm)->state_dir();
  (*vm)->Stop();
  CheckNothingLeft(qemu, state);
}

TEST_CASE("vm: a raw ext4 rootfs and a two-extent VMDK, hot-plugged, found by PCI path, detached", "[vm][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  // The container's rootfs: busybox in an ext4 image, made without mounting anything.
  kata::testing::MakeBusyboxRootfs(tmp.Sub("rootfs-src"));
  const std::string ext4 = tmp.Sub("rootfs.ext4");
  REQUIRE(std::system(("mkfs.ext4 -q -F -d " + tmp.Sub("rootfs-src") + " " + ext4 + " 32M >/dev/null").c_str()) == 0);
  // The VMDK: two files of random bytes, one disk.
  WriteRandom(tmp.Sub("layer-a"), 1 << 20, 1);
  WriteRandom(tmp.Sub("layer-b"), 3 << 20, 2);
  REQUIRE(kata::runtime::WriteVmdkDescriptor(tmp.Sub("layers.vmdk"), {tmp.Sub("layer-a"), tmp.Sub("layer-b")}).ok());

  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;  // the first test case probed auto
  auto vm = SandboxVm::Start("e2e-disks", config);
  INFO(vm.status());
  REQUIRE(vm.ok());
  auto& blocks = (*vm)->block_devices();
  const kata::agent_api::AgentStub agent((*vm)->agent_client());
  {
    kata::agent::CreateSandboxRequest req;
    req.set_sandbox_id("e2e-disks");
    req.set_hostname("e2e");
    google::protobuf::Empty e;
    REQUIRE(agent.CreateSandbox(req, &e).ok());
  }

  // First: how long from device_add until the agent has the device. CreateContainer waits for
  // the device by PCI path, then fails on the rootfs that is not there: the wait is the cost.
  const absl::Time plugged = absl::Now();
  auto layers = blocks.Attach({tmp.Sub("layers.vmdk"), BlockFormat::kVmdk, true, "threads", false, "layers"});
  INFO(layers.status());
  REQUIRE(layers.ok());
  {
    const absl::Status s = kata::runtime::testing::WaitForDeviceInGuest((*vm)->agent_client(), layers->pci_path);
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);  // got past the device, not the rootfs
    INFO(s.message());
    CHECK(s.message().find("rootfs") != std::string::npos);
    std::printf("kata-measure: device_add_to_agent_ms=%lld (pci %s)\n",
                static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - plugged)), layers->pci_path.c_str());
  }

  auto rootfs = blocks.Attach({ext4, BlockFormat::kRaw, false, "threads", false, "rootfs"});
  INFO(rootfs.status());
  REQUIRE(rootfs.ok());
  CHECK(rootfs->pci_path != layers->pci_path);

  const std::string mount_point = "/run/kata-containers/c1/rootfs";
  kata::agent::CreateContainerRequest req;
  req.set_container_id("c1");
  *req.mutable_oci() = ContainerSpec(
      mount_point,
      "head -c 1048576 /dev/layers | md5sum; tail -c +1048577 /dev/layers | md5sum; "
      "wc -c < /dev/layers; echo written-in-the-vm > /written");
  auto* storage = req.add_storages();
  storage->set_driver("blk");
  storage->set_source(rootfs->pci_path);
  storage->set_fstype("ext4");
  storage->set_mount_point(mount_point);
  auto* dev = req.add_devices();
  dev->set_type("blk");
  dev->set_id(layers->pci_path);
  dev->set_container_path("/dev/layers");
  google::protobuf::Empty e;
  const absl::Status created = agent.CreateContainer(req, &e);
  INFO(created.message() << "\nconsole: " << kata::ReadFileTail((*vm)->console_log(), 3000));
  REQUIRE(created.ok());
  {
    kata::agent::StartContainerRequest start;
    start.set_container_id("c1");
    REQUIRE(agent.StartContainer(start, &e).ok());
  }
  std::string out;
  for (;;) {
    kata::agent::ReadStreamRequest r;
    r.set_container_id("c1");
    r.set_len(4096);
    kata::agent::ReadStreamResponse resp;
    const absl::Status s = agent.ReadStdout(r, &resp);
    if (s.code() == absl::StatusCode::kOutOfRange) break;
    REQUIRE(s.ok());
    out += resp.data();
  }
  INFO(out);
  // The guest's device is the two files back to back.
  CHECK(out.find(Md5(tmp.Sub("layer-a")) + "  -\n" + Md5(tmp.Sub("layer-b")) + "  -\n4194304\n") == 0);
  {
    kata::agent::WaitProcessRequest w;
    w.set_container_id("c1");
    kata::agent::WaitProcessResponse status;
    REQUIRE(agent.WaitProcess(w, &status).ok());
    CHECK(status.status() == 0);
  }
  {
    // The agent's footprint after one container (issue 15's goal is 4 MiB; bench/ judges it).
    kata::agent::GetMetricsRequest req;
    kata::agent::Metrics metrics;
    REQUIRE(agent.GetMetrics(req, &metrics).ok());
    auto value = [&](const std::string& name) -> long long {
      const std::string key = "\n" + name + " ";  // the sample line, not its # HELP
      const size_t at = metrics.metrics().find(key);
      REQUIRE(at != std::string::npos);
      return std::stoll(metrics.metrics().substr(at + key.size()));
    };
    std::printf("kata-measure: agent_rss_after_one_container_kib=%lld threads=%lld\n",
                value("kata_agent_process_resident_memory_bytes") / 1024, value("kata_agent_process_threads"));
  }
  {
    kata::agent::RemoveContainerRequest rm;
    rm.set_container_id("c1");
    REQUIRE(agent.RemoveContainer(rm, &e).ok());  // unmounts the rootfs
  }
  for (const auto* b : {&*rootfs, &*layers}) {
    const absl::Time start = absl::Now();
    const absl::Status detached = blocks.Detach(b->device_id);
    INFO(detached);
    CHECK(detached.ok());
    std::printf("kata-measure: detach_%s_ms=%lld\n", b->device_id.c_str(),
                static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)));
  }
  CHECK(blocks.Attached().empty());
  const pid_t qemu = (*vm)->qemu_pid();
  const std::string state = (*vm)->state_dir();
  (*vm)->Stop();
  CheckNothingLeft(qemu, state);
  // What the container wrote went to the ext4 image.
  CHECK(Capture("debugfs -R 'cat /written' " + ext4 + " 2>/dev/null") == "written-in-the-vm\n");
}

TEST_CASE("vm: QEMU that cannot start is reported with its stderr; nothing remains", "[vm][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto config = VmConfig(tmp);
  config.hypervisor.kernel = tmp.Sub("no-such-vmlinux");
  config.hypervisor.accel = kata::config::Accel::kTcg;
  auto vm = SandboxVm::Start("e2e-bad", config);
  REQUIRE_FALSE(vm.ok());
  INFO(vm.status());
  CHECK(std::string(vm.status().message()).find("QEMU (pid ") != std::string::npos);
  CHECK(std::string(vm.status().message()).find("no-such-vmlinux") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/e2e-bad")));
}

TEST_CASE("vm: a guest that panics ends the boot at once, with the console's last words", "[vm][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto config = VmConfig(tmp);
  kata::testing::WriteFile(tmp.Sub("empty.img"), "");  // no /init: the kernel panics
  config.hypervisor.initrd = tmp.Sub("empty.img");
  config.hypervisor.accel = kata::config::Accel::kTcg;
  const absl::Time start = absl::Now();
  auto vm = SandboxVm::Start("e2e-panic", config);
  REQUIRE_FALSE(vm.ok());
  INFO(vm.status());
  CHECK(std::string(vm.status().message()).find("Kernel panic") != std::string::npos);
  CHECK(absl::Now() - start < config.hypervisor.boot_timeout / 2);  // noticed, not timed out
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/e2e-panic")));
}

TEST_CASE("vm faults: a disk whose uevent never comes: CreateContainer fails after the hot-plug timeout naming it, "
          "leaves nothing, and the agent goes on",
          "[vm][e2e][faults]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::MakeBusyboxRootfs(tmp.Sub("rootfs-src"));
  const std::string ext4 = tmp.Sub("rootfs.ext4");
  REQUIRE(std::system(("mkfs.ext4 -q -F -d " + tmp.Sub("rootfs-src") + " " + ext4 + " 32M >/dev/null").c_str()) == 0);
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.agent.hotplug_timeout = absl::Seconds(2);
  auto vm = SandboxVm::Start("e2e-nouevent", config);
  INFO(vm.status());
  REQUIRE(vm.ok());
  const kata::agent_api::AgentStub agent((*vm)->agent_client());
  google::protobuf::Empty e;
  {
    kata::agent::CreateSandboxRequest req;
    req.set_sandbox_id("e2e-nouevent");
    REQUIRE(agent.CreateSandbox(req, &e).ok());
  }
  const std::string mount_point = "/run/kata-containers/c1/rootfs";
  auto request = [&](const std::string& pci_path) {
    kata::agent::CreateContainerRequest req;
    req.set_container_id("c1");
    *req.mutable_oci() = ContainerSpec(mount_point, "echo on-the-disk");
    req.mutable_oci()->mutable_linux()->clear_devices();
    auto* storage = req.add_storages();
    storage->set_driver("blk");
    storage->set_source(pci_path);
    storage->set_fstype("ext4");
    storage->set_mount_point(mount_point);
    return req;
  };
  // The first root port, with nothing plugged into it: no uevent will ever name it.
  char empty_port[8];
  std::snprintf(empty_port, sizeof(empty_port), "%02x/00", kata::runtime::RootPortSlot(0));
  const absl::Time start = absl::Now();
  const absl::Status waited = agent.CreateContainer(request(empty_port), &e, absl::Seconds(60));
  const absl::Duration took = absl::Now() - start;
  INFO(waited.message() << " after " << took);
  CHECK(waited.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(waited.message().find(empty_port) != std::string::npos);
  CHECK(took >= absl::Seconds(2));
  CHECK(took < absl::Seconds(30));
  {
    kata::agent::GetMetricsRequest req;
    kata::agent::Metrics metrics;
    REQUIRE(agent.GetMetrics(req, &metrics).ok());
    CHECK(metrics.metrics().find("kata_agent_containers 0\n") != std::string::npos);
  }
  // The same container, now with its disk there: nothing of the failed attempt is in the way.
  auto rootfs = (*vm)->block_devices().Attach({ext4, BlockFormat::kRaw, false, "threads", false, "rootfs"});
  INFO(rootfs.status());
  REQUIRE(rootfs.ok());
  {
    const absl::Status created = agent.CreateContainer(request(rootfs->pci_path), &e);
    INFO(created.message());
    REQUIRE(created.ok());
    kata::agent::RemoveContainerRequest rm;
    rm.set_container_id("c1");
    REQUIRE(agent.RemoveContainer(rm, &e).ok());
  }
  REQUIRE((*vm)->block_devices().Detach(rootfs->device_id).ok());
  const pid_t qemu = (*vm)->qemu_pid();
  const std::string state = (*vm)->state_dir();
  (*vm)->Stop();
  CheckNothingLeft(qemu, state);
}
