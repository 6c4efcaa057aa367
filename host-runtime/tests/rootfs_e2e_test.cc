// Container rootfs end to end in a real guest (TCG here): containerd-shaped Mounts ->
// classification -> devices hot-plugged (raw, or a VMDK joining EROFS blobs) -> the agent's
// multi-layer mount -> the container's process; afterwards the writable layer's image holds
// what it wrote, and nothing is left attached or written under the runtime's state dir.

#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "host-runtime/sandbox/guest_spec.h"
#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/tests/erofs_fixture.h"
#include "host-runtime/tests/sandbox_run.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"
#include "libkata/agent_api/agent_api.h"

using kata::runtime::RootfsMount;
using kata::runtime::Sandbox;
using kata::runtime::testing::Ran;
using kata::runtime::testing::RunToEnd;
using kata::runtime::testing::Capture;
using kata::runtime::testing::Sh;
using kata::runtime::testing::Md5;
using kata::runtime::testing::VmConfig;

namespace {

kata::oci::Spec Spec(const std::string& script) {
  auto spec = kata::oci::ParseSpecJson(R"({
    "ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"cwd": "/", "env": ["PATH=/bin"], "args": ["sh", "-c"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
  })", "rootfs e2e spec");
  REQUIRE(spec.ok());
  spec->mutable_process()->add_args(script);
  return *spec;
}

void PrintReady(const char* what, const kata::runtime::ContainerTimings& t) {
  std::printf("kata-measure: %s devices=%zu attach_ms=%lld create_ms=%lld start_ms=%lld ready_ms=%lld\n", what, t.devices,
              static_cast<long long>(absl::ToInt64Milliseconds(t.attach)),
              static_cast<long long>(absl::ToInt64Milliseconds(t.create)),
              static_cast<long long>(absl::ToInt64Milliseconds(t.start)),
              static_cast<long long>(absl::ToInt64Milliseconds(t.attach + t.create + t.start)));
}

// The EROFS snapshotter's shape for an upper and one EROFS mount (blobs: source, device=...).
std::vector<RootfsMount> MultiLayerMounts(const std::string& upper, const std::vector<std::string>& blobs) {
  RootfsMount erofs{"erofs", blobs[0], "", {"ro", "loop"}};
  for (size_t i = 1; i < blobs.size(); ++i) erofs.options.push_back("device=" + blobs[i]);
  return {{"ext4", upper, "", {"rw", "loop"}},
          erofs,
          {"format/mkdir/overlay", "overlay", "",
           {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper",
            "workdir={{ mount 0 }}/work", "lowerdir={{ mount 1 }}"}}};
}

// A busybox tree with a note, as one EROFS layer's content.
std::string MakeLayerTree(const kata::testing::TempDir& tmp) {
  const std::string dir = tmp.Sub("layer");
  kata::testing::MakeBusyboxRootfs(dir);
  kata::testing::WriteFile(dir + "/etc/base-note", "from the EROFS layer\n");
  return dir;
}

// A two-blob EROFS layer (busybox and a note): meta.erofs + blob.img in `tmp`, the device
// table flattened by the test fixture so that a VMDK joining them reads as one disk.
void MakeTwoBlobLayer(const kata::testing::TempDir& tmp) {
  Sh("mkfs.erofs --quiet --chunksize=4096 --blobdev=" + tmp.Sub("blob.img") + " " + tmp.Sub("meta.erofs") + " " +
     MakeLayerTree(tmp));
  REQUIRE(kata::runtime::testing::FlattenErofsDeviceTable(tmp.Sub("meta.erofs"), tmp.Sub("blob.img")).ok());
}

// Nothing of the container or the sandbox stays on the host.
void CheckStateGone(const kata::testing::TempDir& tmp, const std::string& sandbox_id) {
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/" + sandbox_id)));
}

// A TCG sandbox `id` with `root_ports` for hot-plug, with layer.erofs (busybox and a note) and an empty ext4 rw.img in `tmp`.
std::unique_ptr<Sandbox> BootWithOneLayer(const kata::testing::TempDir& tmp, const std::string& id, uint32_t root_ports = 2) {
  Sh("mkfs.erofs --quiet " + tmp.Sub("layer.erofs") + " " + MakeLayerTree(tmp));
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.hypervisor.hotplug_root_ports = root_ports;
  auto sb = Sandbox::Create(id, config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  return std::move(*sb);
}

}  // namespace

TEST_CASE("rootfs e2e: ext4 upper and one raw EROFS lower, merged by the agent; writes land in the upper",
          "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto sb = BootWithOneLayer(tmp, "ml-raw");
  const absl::Status created = sb->CreateContainer(
      "c1", Spec("cat /etc/base-note; echo written-in-the-vm > /written; ls /written"),
      MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")}));
  INFO(created);
  REQUIRE(created.ok());
  const Ran ran = RunToEnd(*sb, "c1");
  CHECK(ran.out == "from the EROFS layer\n/written\n");
  CHECK(ran.status == 0);
  PrintReady("first container, multi-layer raw lower:", sb->timings("c1"));
  CHECK(std::filesystem::exists(tmp.Sub("state/ml-raw/c1")));
  REQUIRE(sb->RemoveContainer("c1").ok());
  CHECK(sb->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/ml-raw/c1")));
  REQUIRE(sb->Destroy().ok());
  CheckStateGone(tmp, "ml-raw");
  CHECK(Capture("debugfs -R 'cat /upper/written' " + tmp.Sub("rw.img") + " 2>/dev/null") == "written-in-the-vm\n");
}

TEST_CASE("rootfs e2e: containers of one image share its layer's device; it is unplugged after the last goes",
          "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto sb = BootWithOneLayer(tmp, "ml-shared", 3);
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw2.img") + " 32M");
  REQUIRE(sb->CreateContainer("c1", Spec("cat /etc/base-note; echo one > /mine; cat /mine"),
                              MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")}))
              .ok());
  const absl::Status second = sb->CreateContainer("c2", Spec("cat /etc/base-note; ls /mine 2>&1; echo two > /mine; cat /mine"),
                                                  MultiLayerMounts(tmp.Sub("rw2.img"), {tmp.Sub("layer.erofs")}));
  INFO(second);
  REQUIRE(second.ok());
  CHECK(sb->vm().block_devices().Attached().size() == 3);  // two writable images, one layer
  const Ran one = RunToEnd(*sb, "c1");
  CHECK(one.out == "from the EROFS layer\none\n");
  REQUIRE(sb->RemoveContainer("c1").ok());
  CHECK(sb->vm().block_devices().Attached().size() == 2);  // c2 still uses the layer
  const Ran two = RunToEnd(*sb, "c2");
  CHECK(two.out == "from the EROFS layer\nls: /mine: No such file or directory\ntwo\n");
  REQUIRE(sb->RemoveContainer("c2").ok());
  CHECK(sb->vm().block_devices().Attached().empty());
  REQUIRE(sb->Destroy().ok());
  CheckStateGone(tmp, "ml-shared");
}

TEST_CASE("rootfs e2e: two EROFS blobs joined by a VMDK mount as one lower; contents compared", "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  MakeTwoBlobLayer(tmp);  // metadata image + one blob device (erofs-utils 1.5)
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  auto sb = Sandbox::Create("ml-vmdk", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  const absl::Status created = (*sb)->CreateContainer(
      "c1", Spec("md5sum < /bin/busybox; cat /etc/base-note; echo via-vmdk > /written"),
      MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("blob.img")}));
  INFO(created);
  REQUIRE(created.ok());
  CHECK(std::filesystem::exists(tmp.Sub("state/ml-vmdk/c1/lower-0.vmdk")));
  const Ran ran = RunToEnd(**sb, "c1");
  // The data lives in the blob: a wrong mapping reads other bytes, not an error.
  CHECK(ran.out == Md5("/bin/busybox") + "  -\nfrom the EROFS layer\n");
  CHECK(ran.status == 0);
  REQUIRE((*sb)->RemoveContainer("c1").ok());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/ml-vmdk/c1")));
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "ml-vmdk");
  CHECK(Capture("debugfs -R 'cat /upper/written' " + tmp.Sub("rw.img") + " 2>/dev/null") == "via-vmdk\n");
}

TEST_CASE("rootfs e2e: a rootfs known at boot is on QEMU's command line; its container runs from it", "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  MakeTwoBlobLayer(tmp);
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  const auto mounts = MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("blob.img")});
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  auto sb = Sandbox::Create("cold", config, kata::runtime::BootRootfs{"c1", mounts});
  INFO(sb.status());
  REQUIRE(sb.ok());
  // Both disks (the upper, the VMDK joining the blobs) were given to QEMU at launch.
  const std::string cmdline = Capture("tr '\\0' '\\n' < /proc/" + std::to_string((*sb)->vm().qemu_pid()) + "/cmdline");
  CHECK(absl::StrContains(cmdline, "\"drive\":\"drive-0\""));
  CHECK(absl::StrContains(cmdline, "lower-0.vmdk"));
  CHECK((*sb)->vm().block_devices().Attached().size() == 2);

  // Other mounts under the booted container's id are refused; nothing is made for them.
  auto other = mounts;
  other[0].options.push_back("noatime");
  const absl::Status refused = (*sb)->CreateContainer("c1", Spec("true"), other);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(refused.message(), "booted with"));

  const absl::Status created =
      (*sb)->CreateContainer("c1", Spec("md5sum < /bin/busybox; cat /etc/base-note; echo cold > /written"), mounts);
  INFO(created);
  REQUIRE(created.ok());
  const auto timings = (*sb)->timings("c1");
  CHECK(timings.cold_plugged);
  CHECK(timings.devices == 2);
  const Ran ran = RunToEnd(**sb, "c1");
  CHECK(ran.out == Md5("/bin/busybox") + "  -\nfrom the EROFS layer\n");
  PrintReady("multi-layer (2 devices) on QEMU's command line:", timings);
  // Removing the container unplugs the disks it booted with, as it would hot-plugged ones.
  REQUIRE((*sb)->RemoveContainer("c1").ok());
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/cold/c1")));
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "cold");
  CHECK(Capture("debugfs -R 'cat /upper/written' " + tmp.Sub("rw.img") + " 2>/dev/null") == "cold\n");
}

TEST_CASE("rootfs e2e: a boot rootfs no container takes leaves nothing; one with a missing blob boots nothing",
          "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  MakeTwoBlobLayer(tmp);
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;

  auto missing = Sandbox::Create("cold-bad", config,
                                 kata::runtime::BootRootfs{"c1", MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("gone.img")})});
  REQUIRE_FALSE(missing.ok());
  CHECK(absl::StrContains(missing.status().message(), tmp.Sub("gone.img")));
  CheckStateGone(tmp, "cold-bad");

  auto sb = Sandbox::Create("cold-unused", config,
                            kata::runtime::BootRootfs{"never", MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("blob.img")})});
  INFO(sb.status());
  REQUIRE(sb.ok());
  CHECK(std::filesystem::exists(tmp.Sub("state/cold-unused/never/lower-0.vmdk")));
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "cold-unused");
}

TEST_CASE("rootfs e2e: one block image; container-ready for 1 and 2 devices next to a hot-plug round trip",
          "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::MakeBusyboxRootfs(tmp.Sub("tree"));
  Sh("mkfs.ext4 -q -F -d " + tmp.Sub("tree") + " " + tmp.Sub("root.img") + " 32M");
  Sh("mkfs.erofs --quiet " + tmp.Sub("layer.erofs") + " " + MakeLayerTree(tmp));
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  kata::testing::WriteFile(tmp.Sub("plain.raw"), std::string(1 << 20, '\0'));
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.hypervisor.hotplug_root_ports = 3;
  auto sb = Sandbox::Create("ready", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  // A first container warms the guest (ext4 and overlay code paths); then the measured ones.
  REQUIRE((*sb)->CreateContainer("warm", Spec("true"), {{"ext4", tmp.Sub("root.img"), "", {"rw"}}}).ok());
  RunToEnd(**sb, "warm");
  REQUIRE((*sb)->RemoveContainer("warm").ok());
  REQUIRE((*sb)->CreateContainer("one", Spec("echo one"), {{"ext4", tmp.Sub("root.img"), "", {"rw"}}}).ok());
  CHECK(RunToEnd(**sb, "one").out == "one\n");
  PrintReady("block rootfs (1 device):", (*sb)->timings("one"));
  REQUIRE((*sb)->RemoveContainer("one").ok());
  REQUIRE((*sb)->CreateContainer("two", Spec("echo two"), MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")})).ok());
  CHECK(RunToEnd(**sb, "two").out == "two\n");
  PrintReady("multi-layer (2 devices):", (*sb)->timings("two"));
  REQUIRE((*sb)->RemoveContainer("two").ok());
  // One hot-plug round trip: device_add until the agent has the device (its CreateContainer
  // waits for it by PCI path, then fails on the missing rootfs), then device_del until
  // DEVICE_DELETED.
  const absl::Time t = absl::Now();
  auto dev = (*sb)->vm().block_devices().Attach({tmp.Sub("plain.raw"), kata::runtime::BlockFormat::kRaw, true, "threads", false, ""});
  REQUIRE(dev.ok());
  CHECK(kata::runtime::testing::WaitForDeviceInGuest((*sb)->vm().agent_client(), dev->pci_path).code() ==
        absl::StatusCode::kFailedPrecondition);
  const absl::Duration seen = absl::Now() - t;
  REQUIRE((*sb)->vm().block_devices().Detach(dev->device_id).ok());
  std::printf("kata-measure: hot-plug round trip: device_add->agent_has_it_ms=%lld, +detach_ms=%lld\n",
              static_cast<long long>(absl::ToInt64Milliseconds(seen)),
              static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - t)));
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "ready");
}

TEST_CASE("rootfs e2e: when a device cannot be attached, the other is detached and the descriptor removed",
          "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  Sh("mkfs.erofs --quiet --chunksize=4096 --blobdev=" + tmp.Sub("blob.img") + " " + tmp.Sub("meta.erofs") + " " +
     MakeLayerTree(tmp));
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.hypervisor.hotplug_root_ports = 1;  // room for one of the two devices
  auto sb = Sandbox::Create("fault", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  const absl::Status created = (*sb)->CreateContainer(
      "c1", Spec("true"), MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("blob.img")}));
  INFO(created);
  CHECK(created.code() == absl::StatusCode::kResourceExhausted);
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/fault/c1")));  // descriptor and work dir gone
  // The port is free again: a one-device rootfs fits.
  kata::testing::MakeBusyboxRootfs(tmp.Sub("tree"));
  Sh("mkfs.ext4 -q -F -d " + tmp.Sub("tree") + " " + tmp.Sub("root.img") + " 32M");
  REQUIRE((*sb)->CreateContainer("c2", Spec("echo fits"), {{"ext4", tmp.Sub("root.img"), "", {"rw"}}}).ok());
  CHECK(RunToEnd(**sb, "c2").out == "fits\n");
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "fault");
}

TEST_CASE("rootfs e2e: an overlay of directories and a bind rootfs reach the guest over virtio-9p", "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  kata::testing::MakeBusyboxRootfs(tmp.Sub("lower"));
  kata::testing::WriteFile(tmp.Sub("lower/etc/base-note"), "from the lower directory\n");
  kata::testing::MakeDirs(tmp.Sub("snap/upper"));
  kata::testing::MakeDirs(tmp.Sub("snap/work"));
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  auto sb = Sandbox::Create("shared", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  // containerd 1.6's overlayfs snapshotter.
  const absl::Status created = (*sb)->CreateContainer(
      "ovl", Spec("cat /etc/base-note; echo from-the-guest > /written"),
      {{"overlay", "overlay", "",
        {"index=off", "workdir=" + tmp.Sub("snap/work"), "upperdir=" + tmp.Sub("snap/upper"), "lowerdir=" + tmp.Sub("lower")}}});
  INFO(created);
  REQUIRE(created.ok());
  const Ran ran = RunToEnd(**sb, "ovl");
  CHECK(ran.out == "from the lower directory\n");
  CHECK(ran.status == 0);
  CHECK(kata::testing::ReadFile(tmp.Sub("snap/upper/written")) == "from-the-guest\n");  // the write went to the host
  REQUIRE((*sb)->RemoveContainer("ovl").ok());
  // The native snapshotter: a bind of a prepared directory.
  REQUIRE((*sb)->CreateContainer("bnd", Spec("ls /bin/busybox"), {{"bind", tmp.Sub("lower"), "", {"rbind", "ro"}}}).ok());
  CHECK(RunToEnd(**sb, "bnd").out == "/bin/busybox\n");
  REQUIRE((*sb)->RemoveContainer("bnd").ok());
  CHECK(Capture("grep -c " + tmp.path() + " /proc/self/mountinfo").substr(0, 1) == "0");  // nothing left mounted
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "shared");
}

// Issue 14: Destroy asked the agent to remove a running container without a timeout; the
// agent refused, and the host unplugged the writable layer's disk while it was still mounted:
// what the container had written was still in the guest's page cache, and was lost.
TEST_CASE("rootfs e2e: Destroy with a container still running keeps what it wrote", "[rootfs][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto sb = BootWithOneLayer(tmp, "ml-busy");
  REQUIRE(sb->CreateContainer("c1", Spec("echo kept > /written; echo ready; exec sleep 3600"),
                                 MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")}))
              .ok());
  REQUIRE(sb->StartContainer("c1").ok());
  auto ready = sb->ReadOutput("c1", "", false);
  REQUIRE(ready.ok());
  CHECK(*ready == "ready\n");  // written, not yet synced
  REQUIRE(sb->Destroy().ok());  // the container still runs
  CheckStateGone(tmp, "ml-busy");
  CHECK(Capture("debugfs -R 'cat /upper/written' " + tmp.Sub("rw.img") + " 2>/dev/null") == "kept\n");
}

TEST_CASE("rootfs e2e faults: QEMU refuses a layer another process writes (its image lock); the upper is detached, "
          "nothing is left, and the VM goes on",
          "[rootfs][e2e][faults]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  auto sb = BootWithOneLayer(tmp, "locked");
  // qemu-io holds the layer open for writing (QEMU's image lock) until its stdin closes.
  std::unique_ptr<FILE, int (*)(FILE*)> writer(
      ::popen(("exec qemu-io -f raw " + tmp.Sub("layer.erofs") + " >/dev/null 2>&1").c_str(), "w"), ::pclose);
  REQUIRE(writer != nullptr);
  // Its locks show in /proc/locks (OFD locks on the image's inode); a probe that opens the
  // image itself could take the lock first and make qemu-io give up.
  struct stat st;
  REQUIRE(::stat(tmp.Sub("layer.erofs").c_str(), &st) == 0);
  const std::string inode = ":" + std::to_string(st.st_ino) + " ";
  bool locked = false;
  for (int i = 0; i < 200 && !locked; ++i, ::usleep(50 * 1000)) {
    const std::string locks = kata::testing::ReadFile("/proc/locks");
    for (absl::string_view line : absl::StrSplit(locks, '\n')) {
      locked = locked || (absl::StrContains(line, "OFDLCK") && absl::StrContains(line, inode));
    }
  }
  REQUIRE(locked);
  const absl::Status created =
      sb->CreateContainer("c1", Spec("true"), MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")}));
  INFO(created);
  CHECK_FALSE(created.ok());
  CHECK(created.message().find("lock") != absl::string_view::npos);  // QEMU's own words
  CHECK(sb->vm().block_devices().Attached().empty());               // the upper went back
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/locked/c1")));
  writer.reset();  // the other writer goes: the same layer now attaches
  REQUIRE(sb->CreateContainer("c2", Spec("cat /etc/base-note"), MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")}))
              .ok());
  CHECK(RunToEnd(*sb, "c2").out == "from the EROFS layer\n");
  REQUIRE(sb->Destroy().ok());
  CheckStateGone(tmp, "locked");
}

TEST_CASE("rootfs e2e faults: the state directory's disk is full: CreateContainer names the file and leaves nothing; "
          "with space back it works",
          "[rootfs][e2e][faults]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  MakeTwoBlobLayer(tmp);  // the runtime writes a VMDK descriptor joining them under the state dir
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  std::filesystem::create_directories(tmp.Sub("state"));
  Sh("mount -t tmpfs -o size=1m tmpfs " + tmp.Sub("state"));
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{tmp.Sub("state")};
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  auto sb = Sandbox::Create("full", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  // Fill what is left of it (dd ends with ENOSPC).
  (void)std::system(("dd if=/dev/zero of=" + tmp.Sub("state/filler") + " bs=4k >/dev/null 2>&1").c_str());
  const auto mounts = MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("meta.erofs"), tmp.Sub("blob.img")});
  const absl::Status created = (*sb)->CreateContainer("c1", Spec("true"), mounts);
  INFO(created);
  CHECK(created.code() == absl::StatusCode::kResourceExhausted);  // ENOSPC
  CHECK(created.message().find(".vmdk") != absl::string_view::npos);
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/full/c1")));
  std::filesystem::remove(tmp.Sub("state/filler"));
  REQUIRE((*sb)->CreateContainer("c2", Spec("cat /etc/base-note"), mounts).ok());
  CHECK(RunToEnd(**sb, "c2").out == "from the EROFS layer\n");
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "full");
}

// Issue 14: the host's CreateContainer gives up (agent.create_container_timeout) while the
// agent is still creating. The guest is paused (QMP stop) across the call, so the request
// waits in the channel and the hot-plugs in QEMU. The host then removes the container in the
// guest, which answers once resumed: the container it was making is undone there, and only then
// are the disks unplugged. Nothing is left, and the same id works again.
TEST_CASE("rootfs e2e faults: the host's CreateContainer times out while the agent is creating: removed in the guest, "
          "then detached; nothing left",
          "[rootfs][e2e][faults]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  Sh("mkfs.erofs --quiet " + tmp.Sub("layer.erofs") + " " + MakeLayerTree(tmp));
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  auto config = VmConfig(tmp);
  config.hypervisor.accel = kata::config::Accel::kTcg;
  config.agent.create_container_timeout = absl::Seconds(2);
  auto sb = Sandbox::Create("slow", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  const auto mounts = MultiLayerMounts(tmp.Sub("rw.img"), {tmp.Sub("layer.erofs")});
  REQUIRE((*sb)->vm().qmp().Execute("stop").ok());
  // Resumed while the host is already removing the container (its RemoveContainer waits in
  // the channel too).
  std::thread resume([&] {
    std::this_thread::sleep_for(std::chrono::seconds(4));
    (void)(*sb)->vm().qmp().Execute("cont");
  });
  const absl::Time t = absl::Now();
  const absl::Status created = (*sb)->CreateContainer("c1", Spec("echo never"), mounts);
  resume.join();
  INFO(created);
  CHECK(created.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::StrContains(created.message(), "CreateContainer"));
  CHECK(absl::Now() - t >= absl::Seconds(4));  // it waited for the guest to let go
  CHECK((*sb)->vm().block_devices().Attached().empty());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/slow/c1")));
  // The guest holds nothing of it: the same id, on the same disks, runs.
  const absl::Time t2 = absl::Now();
  const absl::Status again = (*sb)->CreateContainer("c1", Spec("cat /etc/base-note"), mounts);
  INFO(again << " after " << absl::FormatDuration(absl::Now() - t2) << "\nconsole: " << kata::ReadFileTail((*sb)->vm().console_log(), 3000));
  REQUIRE(again.ok());
  CHECK(RunToEnd(**sb, "c1").out == "from the EROFS layer\n");
  REQUIRE((*sb)->Destroy().ok());
  CheckStateGone(tmp, "slow");
}
