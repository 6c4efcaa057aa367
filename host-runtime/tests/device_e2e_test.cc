// linux.devices end to end in a real guest (TCG here): host loop devices named in the spec by
// their HOST numbers are hot-plugged, found by PCI path, renumbered with their cgroup rules by
// the agent's batch update, and enforced; entries a VM cannot be given are refused before
// anything is attached; a failed hot-plug rolls back the others; nothing stays attached.

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "absl/strings/match.h"
#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/tests/host_loop.h"
#include "host-runtime/tests/sandbox_run.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::runtime::RootfsMount;
using kata::runtime::testing::HostLoop;
using kata::runtime::testing::RunToEnd;
using kata::runtime::Sandbox;
using kata::runtime::testing::Capture;
using kata::runtime::testing::Sh;
using kata::runtime::testing::VmConfig;

namespace {

kata::oci::Spec Spec(const std::string& script, const std::string& devices, const std::string& allows) {
  auto spec = kata::oci::ParseSpecJson(R"({
    "ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"cwd": "/", "env": ["PATH=/bin"], "args": ["sh", "-c"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
              "devices": [)" + devices + R"(],
              "resources": {"devices": [{"allow": false, "access": "rwm"})" +
                                           (allows.empty() ? "" : ", " + allows) + R"(]}}
  })", "device e2e spec");
  REQUIRE(spec.ok());
  spec->mutable_process()->add_args(script);
  return *spec;
}

}  // namespace

TEST_CASE("device e2e: host block devices by host numbers reach the container renumbered; its rules are enforced; "
          "read-only stays read-only; a failed hot-plug rolls back; hostile entries leave nothing",
          "[devices][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::MakeBusyboxRootfs(tmp.Sub("tree"));
  Sh("mkfs.ext4 -q -F -d " + tmp.Sub("tree") + " " + tmp.Sub("root.img") + " 32M");
  const std::vector<RootfsMount> rootfs = {{"ext4", tmp.Sub("root.img"), "", {"rw"}}};
  // The guest has loop devices of its own, numbered as the host's: the host numbers in the spec
  // would name the guest's (empty) loop devices, were they not renumbered.
  HostLoop a(tmp, "a", "device-a\n"), b(tmp, "b", "device-b\n"), c(tmp, "c", "device-c\n");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.hypervisor.hotplug_root_ports = 4;
  auto sb = Sandbox::Create("devices", config);
  INFO(sb.status());
  REQUIRE(sb.ok());

  // a: read and written; b: attached, but no rule allows it; c: its rule allows reads only.
  const std::string script =
      "head -c 9 /dev/xa; printf from-container | dd of=/dev/xa bs=512 seek=1 conv=notrunc,fsync 2>/dev/null && echo a-written;"
      "head -c 9 /dev/xb 2>/dev/null || echo b-denied;"
      "head -c 9 /dev/xc; printf x | dd of=/dev/xc conv=notrunc 2>/dev/null || echo c-read-only;"
      "stat -c '%t:%T' /dev/xa /dev/xc";
  const absl::Status created = (*sb)->CreateContainer(
      "c1", Spec(script, a.Entry("/dev/xa") + "," + b.Entry("/dev/xb") + "," + c.Entry("/dev/xc"), a.Allow("rwm") + "," + c.Allow("r")),
      rootfs);
  INFO(created);
  REQUIRE(created.ok());
  CHECK((*sb)->vm().block_devices().Attached().size() == 4);  // the rootfs and three devices
  const std::string out = RunToEnd(**sb, "c1").out;
  INFO(out);
  CHECK(absl::StartsWith(out, "device-a\na-written\nb-denied\ndevice-c\nc-read-only\n"));
  CHECK_FALSE(absl::StrContains(out, "7:"));  // the guest's virtio-blk numbers, not the host's loop numbers
  REQUIRE((*sb)->RemoveContainer("c1").ok());
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK(Capture("dd if=" + a.file() + " bs=512 skip=1 count=1 2>/dev/null | head -c 14") == "from-container");
  CHECK(Capture("head -c 9 " + c.file()) == "device-c\n");

  // Four disks for three free ports: the attached ones go back, and nothing is left.
  HostLoop d(tmp, "d", "device-d\n");
  const absl::Status full = (*sb)->CreateContainer(
      "c2", Spec("true", a.Entry("/dev/xa") + "," + b.Entry("/dev/xb") + "," + c.Entry("/dev/xc") + "," + d.Entry("/dev/xd"), ""),
      rootfs);
  INFO(full);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.message(), "no free root port"));  // for the rootfs or a device, whichever came last
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/devices/c2")));

  // Entries the VM cannot be given: refused before anything is attached.
  struct Hostile {
    std::string devices;
    const char* message;
  };
  for (const Hostile& h : std::vector<Hostile>{
           {R"({"path": "/dev/ttyS0", "type": "c", "major": 4, "minor": 64})", "linux.devices[0] (/dev/ttyS0): character device 4:64"},
           {a.Entry("/dev/xa") + R"(, {"path": "/dev/vfio/7", "type": "c", "major": 243, "minor": 0})",
            "linux.devices[1] (/dev/vfio/7): VFIO passthrough is not supported yet"},
           {a.Entry("/dev/xa") + R"(, {"path": "/dev/gone", "type": "b", "major": 7, "minor": 1048575})",
            "linux.devices[1] (/dev/gone)"}}) {
    const absl::Status refused = (*sb)->CreateContainer("c3", Spec("true", h.devices, ""), rootfs);
    INFO(refused);
    CHECK_FALSE(refused.ok());
    CHECK(absl::StrContains(refused.message(), h.message));
    CHECK((*sb)->vm().block_devices().Attached().empty());
    CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/devices/c3")));
  }

  // The ports are free again: a container with one device runs.
  REQUIRE((*sb)->CreateContainer("c4", Spec("head -c 9 /dev/xd", d.Entry("/dev/xd"), d.Allow("r")), rootfs).ok());
  CHECK(RunToEnd(**sb, "c4").out == "device-d\n");
  REQUIRE((*sb)->RemoveContainer("c4").ok());
  CHECK((*sb)->vm().block_devices().Attached().empty());
  REQUIRE((*sb)->Destroy().ok());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/devices")));
}
