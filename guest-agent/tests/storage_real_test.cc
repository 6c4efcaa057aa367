// The storage handlers for real, as root: ext4 and EROFS images on loop devices (their uevents
// are real), the real uevent monitor, real mounts. Skips with a message when not root.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <future>

#include "guest-agent/device/block_device_waiter.h"
#include "guest-agent/storage/blk_handler.h"
#include "guest-agent/storage/ephemeral_handler.h"
#include "guest-agent/storage/handler_registry.h"
#include "guest-agent/storage/local_handler.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "guest-agent/storage/storage_manager.h"
#include "guest-agent/testing/loop_device.h"
#include "guest-agent/uevent/uevent_monitor.h"
#include "libkata/mount/mountinfo.h"
#include "libkata/testing/test_support.h"

using kata::agent::Storage;
using namespace kata::guest;
using kata::guest::testing::LoopDevice;
using kata::testing::ReadFile;
using kata::testing::WriteFile;

namespace {

void Run(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

using kata::testing::MakeDirs;

std::string MakeErofs(const std::string& image, const std::string& dir) {
  Run("mkfs.erofs --quiet '" + image + "' '" + dir + "' >/dev/null");
  return image;
}

std::string MakeExt4(const std::string& image, const std::string& dir) {
  Run("mkfs.ext4 -q -F -d '" + dir + "' '" + image + "' 16M >/dev/null");
  return image;
}

Storage MakeStorage(std::string source, std::string fstype, std::string mp, std::vector<std::string> options) {
  Storage s;
  s.set_driver("blk");
  s.set_source(std::move(source));
  s.set_fstype(std::move(fstype));
  s.set_mount_point(std::move(mp));
  for (auto& o : options) s.add_options(std::move(o));
  return s;
}

Storage UpperOn(const LoopDevice& dev, const std::string& mp, std::vector<std::string> extra = {}) {
  std::vector<std::string> options = {"rw", "X-kata.overlay-upper", "X-kata.multi-layer=true",
                                      "X-kata.mkdir.path={{ mount 0 }}/upper:0755",
                                      "X-kata.mkdir.path={{ mount 0 }}/work:0755"};
  options.insert(options.end(), extra.begin(), extra.end());
  return MakeStorage(dev.path(), "ext4", mp, options);
}

Storage LowerOn(const std::string& source, const std::string& mp) {
  return MakeStorage(source, "erofs", mp, {"ro", "X-kata.overlay-lower", "X-kata.multi-layer=true"});
}

// A sandbox: the real monitor, waiter, mounter and manager, all under a temp dir.
struct Sandbox {
  kata::testing::TempDir tmp;
  std::string run = tmp.Sub("run");
  UeventStore store;
  std::unique_ptr<UeventMonitor> monitor;
  UeventBlockDeviceWaiter waiter{store};
  SyscallMounter mounter;
  StorageHandlerRegistry registry;
  MultiLayerErofsHandler multi_layer;
  std::unique_ptr<StorageManager> manager;

  Sandbox() {
    MakeDirs(run);
    auto m = UeventMonitor::Start(store);
    INFO(m.status());
    REQUIRE(m.ok());
    monitor = std::move(*m);
    REQUIRE(registry.Register(std::make_shared<BlkStorageHandler>()).ok());
    REQUIRE(registry.Register(std::make_shared<LocalStorageHandler>()).ok());
    REQUIRE(registry.Register(std::make_shared<EphemeralStorageHandler>()).ok());
    REQUIRE(registry.Register(std::shared_ptr<StorageHandler>(&multi_layer, [](StorageHandler*) {})).ok());
    manager = std::make_unique<StorageManager>(StorageManagerOptions{run, {run}}, registry, multi_layer, mounter, waiter);
  }

  absl::StatusOr<std::vector<std::string>> Add(const std::string& cid, std::vector<Storage> storages,
                                               absl::Duration timeout = absl::Seconds(5)) {
    google::protobuf::RepeatedPtrField<Storage> field;
    for (auto& s : storages) *field.Add() = std::move(s);
    return manager->AddStorages(cid, field, timeout);
  }

  size_t MountsUnderTmp() { return kata::mount::ListMountsUnder(tmp.path())->size(); }
  // Entries left under run/ (the test's own allowed root).
  std::string LeftUnderRun() {
    std::string out;
    FILE* p = ::popen(("cd '" + run + "' && find . -mindepth 1 | sort").c_str(), "r");
    char buf[512];
    while (p && std::fgets(buf, sizeof(buf), p)) out += buf;
    if (p) ::pclose(p);
    return out;
  }
};

}  // namespace

TEST_CASE("real: multi-layer EROFS rootfs on loop devices", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  const std::string img = sb.tmp.Sub("img");
  MakeDirs(img + "/l0");
  MakeDirs(img + "/l1/etc");
  MakeDirs(img + "/up/upper");
  WriteFile(img + "/l0/a.txt", "from lower0\n");
  WriteFile(img + "/l0/shared.txt", "lower0 wins\n");
  WriteFile(img + "/l0/shadow.txt", "lower shadow\n");
  WriteFile(img + "/l1/b.txt", "from lower1\n");
  WriteFile(img + "/l1/shared.txt", "lower1 loses\n");
  WriteFile(img + "/up/upper/shadow.txt", "upper shadow\n");
  const std::string l0 = MakeErofs(sb.tmp.Sub("l0.erofs"), img + "/l0");
  const std::string l1 = MakeErofs(sb.tmp.Sub("l1.erofs"), img + "/l1");
  const std::string up = MakeExt4(sb.tmp.Sub("upper.ext4"), img + "/up");
  const std::string rootfs = sb.run + "/c1/rootfs";

  const absl::Time attach_start = absl::Now();
  auto upper_dev = LoopDevice::Attach(up, false);
  auto l0_dev = LoopDevice::Attach(l0, true);
  auto l1_dev = LoopDevice::Attach(l1, true);
  REQUIRE(upper_dev.ok());
  REQUIRE(l0_dev.ok());
  REQUIRE(l1_dev.ok());
  auto mps = sb.Add("c1", {UpperOn(*upper_dev, rootfs), LowerOn(l0_dev->path(), rootfs), LowerOn(l1_dev->path(), rootfs)});
  const absl::Duration attach_to_overlay = absl::Now() - attach_start;
  INFO(mps.status());
  REQUIRE(mps.ok());
  std::printf("measure: loop attach (3 devices) -> overlay mounted: %.1f ms\n",
              absl::ToDoubleMilliseconds(attach_to_overlay));
  CHECK(*mps == std::vector<std::string>{rootfs});

  CHECK(ReadFile(rootfs + "/a.txt") == "from lower0\n");
  CHECK(ReadFile(rootfs + "/b.txt") == "from lower1\n");
  CHECK(ReadFile(rootfs + "/shared.txt") == "lower0 wins\n");   // lower-0 is the top lower
  CHECK(ReadFile(rootfs + "/shadow.txt") == "upper shadow\n");  // the upper shadows the lowers
  WriteFile(rootfs + "/new.txt", "written in the container\n");
  CHECK(*kata::mount::IsMountPoint(sb.run + "/c1/multi-layer/lower-1"));

  REQUIRE(sb.manager->RemoveStorages(*mps).ok());
  CHECK(sb.MountsUnderTmp() == 0);
  CHECK(sb.LeftUnderRun().empty());
  // The write landed in the upper image.
  const int idx0 = upper_dev->index(), idx1 = l0_dev->index(), idx2 = l1_dev->index();
  REQUIRE(upper_dev->Remove());
  REQUIRE(l0_dev->Remove());
  REQUIRE(l1_dev->Remove());
  CHECK(kata::guest::testing::LoopGone(idx0));
  CHECK(kata::guest::testing::LoopGone(idx1));
  CHECK(kata::guest::testing::LoopGone(idx2));
  const std::string out = sb.tmp.Sub("new.txt");
  Run("debugfs -R 'dump /upper/new.txt " + out + "' '" + up + "' >/dev/null 2>&1");
  CHECK(ReadFile(out) == "written in the container\n");
}

TEST_CASE("real: a device that never appears fails within the timeout and leaves nothing", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  auto idx = LoopDevice::FreeIndex();
  REQUIRE(idx.ok());
  const absl::Duration timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  auto mps = sb.Add("c1", {MakeStorage("/dev/loop" + std::to_string(*idx), "ext4", sb.run + "/c1/data", {})}, timeout);
  const absl::Duration took = absl::Now() - start;
  REQUIRE_FALSE(mps.ok());
  CHECK(mps.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(mps.status().message()).find("loop" + std::to_string(*idx)) != std::string::npos);
  CHECK(took >= timeout);
  CHECK(took <= timeout * 1.1);
  CHECK(sb.MountsUnderTmp() == 0);
  CHECK(sb.LeftUnderRun().empty());
  CHECK(sb.store.WaiterCount() == 0);
}

TEST_CASE("real: a device that appears during the wait, and one that was there before", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  MakeDirs(sb.tmp.Sub("d"));
  WriteFile(sb.tmp.Sub("d/hello"), "hi\n");
  const std::string image = MakeExt4(sb.tmp.Sub("d.ext4"), sb.tmp.Sub("d"));
  // Before: attached before the storage is even asked for (seeded or stored).
  auto before = LoopDevice::Attach(image, true);
  REQUIRE(before.ok());
  auto a = sb.Add("c1", {MakeStorage(before->path(), "ext4", sb.run + "/c1/before", {"ro"})});
  INFO(a.status());
  REQUIRE(a.ok());
  CHECK(ReadFile(sb.run + "/c1/before/hello") == "hi\n");
  REQUIRE(sb.manager->RemoveStorages(*a).ok());
  REQUIRE(before->Remove());

  // During: the wait starts, then the device is created and its file attached.
  auto idx = LoopDevice::FreeIndex();
  REQUIRE(idx.ok());
  auto pending = std::async(std::launch::async, [&] {
    return sb.Add("c2", {MakeStorage("/dev/loop" + std::to_string(*idx), "ext4", sb.run + "/c2/during", {"ro"})});
  });
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(sb.store.WaiterCount() == 1);
  auto during = LoopDevice::Attach(image, true, *idx);
  REQUIRE(during.ok());
  auto b = pending.get();
  INFO(b.status());
  REQUIRE(b.ok());
  CHECK(ReadFile(sb.run + "/c2/during/hello") == "hi\n");
  REQUIRE(sb.manager->RemoveStorages(*b).ok());
  CHECK(sb.MountsUnderTmp() == 0);
}

TEST_CASE("real: two containers share one storage", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  MakeDirs(sb.tmp.Sub("d"));
  const std::string image = MakeExt4(sb.tmp.Sub("shared.ext4"), sb.tmp.Sub("d"));
  auto dev = LoopDevice::Attach(image, false);
  REQUIRE(dev.ok());
  const std::string mp = sb.run + "/shared/vol";
  auto a = sb.Add("c1", {MakeStorage(dev->path(), "ext4", mp, {})});
  auto b = sb.Add("c2", {MakeStorage(dev->path(), "ext4", mp, {})});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(sb.manager->RefCount(mp) == 2);
  CHECK(kata::mount::ListMountsUnder(mp)->size() == 1);  // mounted once
  REQUIRE(sb.manager->RemoveStorages(*a).ok());
  CHECK(*kata::mount::IsMountPoint(mp));  // still there for c2
  REQUIRE(sb.manager->RemoveStorages(*b).ok());
  CHECK(sb.MountsUnderTmp() == 0);
  CHECK(sb.LeftUnderRun().empty());
}

TEST_CASE("real: a mkdir directive through a symlink stays inside its mount", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  const std::string marker = "kata-escape-" + std::to_string(::getpid());
  const std::string img = sb.tmp.Sub("img");
  MakeDirs(img + "/up/upper");
  MakeDirs(img + "/l0");
  REQUIRE(::symlink("/", (img + "/up/abs").c_str()) == 0);                         // the host's /
  REQUIRE(::symlink("../../../../../../..", (img + "/up/climb").c_str()) == 0);    // far above
  REQUIRE(::symlink("../../../../../../tmp", (img + "/up/dangling").c_str()) == 0);  // host /tmp
  const std::string up = MakeExt4(sb.tmp.Sub("up.ext4"), img + "/up");
  const std::string l0 = MakeErofs(sb.tmp.Sub("l0.erofs"), img + "/l0");
  auto upper_dev = LoopDevice::Attach(up, false);
  auto l0_dev = LoopDevice::Attach(l0, true);
  REQUIRE(upper_dev.ok());
  REQUIRE(l0_dev.ok());
  const std::string rootfs = sb.run + "/c1/rootfs";

  // In the mount, "dangling" names <mount>/tmp, which does not exist: refused, all undone.
  auto refused = sb.Add("c1", {UpperOn(*upper_dev, rootfs, {"X-kata.mkdir.path={{ mount 0 }}/dangling/" + marker}),
                               LowerOn(l0_dev->path(), rootfs)});
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("dangling/" + marker) != std::string::npos);
  CHECK(::access(("/tmp/" + marker).c_str(), F_OK) != 0);
  CHECK(sb.MountsUnderTmp() == 0);
  CHECK(sb.LeftUnderRun().empty());

  // "abs" and "climb" both mean the mount's own root.
  auto mps = sb.Add("c1", {UpperOn(*upper_dev, rootfs,
                                   {"X-kata.mkdir.path={{ mount 0 }}/abs/" + marker + "-a:0700",
                                    "X-kata.mkdir.path={{ mount 0 }}/climb/" + marker + "-c:0777"}),
                           LowerOn(l0_dev->path(), rootfs)});
  INFO(mps.status());
  REQUIRE(mps.ok());
  CHECK(::access(("/" + marker + "-a").c_str(), F_OK) != 0);
  CHECK(::access(("/" + marker + "-c").c_str(), F_OK) != 0);
  const std::string upper_mount = sb.run + "/c1/multi-layer/upper";
  struct stat st;
  REQUIRE(::stat((upper_mount + "/" + marker + "-a").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat((upper_mount + "/" + marker + "-c").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0777);  // not narrowed by the umask
  REQUIRE(sb.manager->RemoveStorages(*mps).ok());
  CHECK(sb.MountsUnderTmp() == 0);
}

TEST_CASE("real: a corrupt lower unmounts the upper again", "[storage][root]") {
  KATA_REQUIRE_ROOT();
  Sandbox sb;
  MakeDirs(sb.tmp.Sub("up/upper"));
  const std::string up = MakeExt4(sb.tmp.Sub("up.ext4"), sb.tmp.Sub("up"));
  const std::string corrupt = sb.tmp.Sub("corrupt.erofs");
  Run("head -c 1048576 /dev/urandom > '" + corrupt + "'");
  auto upper_dev = LoopDevice::Attach(up, false);
  auto bad_dev = LoopDevice::Attach(corrupt, true);
  REQUIRE(upper_dev.ok());
  REQUIRE(bad_dev.ok());
  const std::string rootfs = sb.run + "/c1/rootfs";
  auto mps = sb.Add("c1", {UpperOn(*upper_dev, rootfs), LowerOn(bad_dev->path(), rootfs)});
  REQUIRE_FALSE(mps.ok());
  CHECK(std::string(mps.status().message()).find("erofs") != std::string::npos);
  CHECK(sb.MountsUnderTmp() == 0);
  CHECK(sb.LeftUnderRun().empty());
  CHECK(sb.manager->StorageCount() == 0);
  // The request's directories inside the upper were removed too.
  const std::string listing = sb.tmp.Sub("ls.txt");
  Run("debugfs -R 'ls -p /upper' '" + up + "' > '" + listing + "' 2>/dev/null");
  CHECK(ReadFile(listing).find("work") == std::string::npos);
}
