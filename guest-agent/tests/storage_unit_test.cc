// The storage logic with fake mounts and devices: grouping, planning, ordering, undo.

#include <sys/mount.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "guest-agent/storage/blk_handler.h"
#include "guest-agent/storage/ephemeral_handler.h"
#include "guest-agent/storage/handler_registry.h"
#include "guest-agent/storage/local_handler.h"
#include "guest-agent/storage/mkdir_directive.h"
#include "guest-agent/storage/mount_point_validation.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "guest-agent/storage/storage_manager.h"
#include "guest-agent/storage/virtio_9p_handler.h"
#include "guest-agent/tests/fakes.h"
#include "libkata/testing/test_support.h"

using kata::agent::Storage;
using namespace kata::guest;
using kata::guest::testing::FakeDeviceWaiter;
using kata::guest::testing::FakeMounter;

namespace {

const std::string kRun = "/run/kata-containers";
const std::string kRootfs = kRun + "/c1/rootfs";

Storage MakeStorage(std::string driver, std::string source, std::string fstype, std::string mp,
                    std::vector<std::string> options) {
  Storage s;
  s.set_driver(std::move(driver));
  s.set_source(std::move(source));
  s.set_fstype(std::move(fstype));
  s.set_mount_point(std::move(mp));
  for (auto& o : options) s.add_options(std::move(o));
  return s;
}

Storage Upper(std::string mp = kRootfs) {
  return MakeStorage("blk", "02/00", "ext4", std::move(mp),
                     {"rw", "X-kata.overlay-upper", "X-kata.multi-layer=true",
                      "X-kata.mkdir.path={{ mount 0 }}/upper:0755", "X-kata.mkdir.path={{ mount 0 }}/work:0755"});
}
Storage Lower(std::string source, std::string mp = kRootfs) {
  return MakeStorage("blk", std::move(source), "erofs", std::move(mp),
                     {"ro", "X-kata.overlay-lower", "X-kata.multi-layer=true"});
}

struct Harness {
  FakeMounter mounter;
  FakeDeviceWaiter devices;
  StorageHandlerRegistry registry;
  MultiLayerErofsHandler multi_layer;
  std::unique_ptr<StorageManager> manager;

  Harness() {
    REQUIRE(registry.Register(std::make_shared<BlkStorageHandler>()).ok());
    REQUIRE(registry.Register(std::make_shared<LocalStorageHandler>()).ok());
    REQUIRE(registry.Register(std::make_shared<EphemeralStorageHandler>()).ok());
    REQUIRE(registry.Register(std::shared_ptr<StorageHandler>(&multi_layer, [](StorageHandler*) {})).ok());
    devices.devices = {{"02/00", "/dev/vda"}, {"03/00", "/dev/vdb"}, {"04/00", "/dev/vdc"}, {"/dev/vdd", "/dev/vdd"}};
    manager = std::make_unique<StorageManager>(StorageManagerOptions{kRun, {kRun}}, registry, multi_layer,
                                               mounter, devices);
  }

  absl::StatusOr<std::vector<std::string>> Add(const std::string& cid, std::vector<Storage> storages,
                                               absl::Duration timeout = absl::Seconds(1)) {
    google::protobuf::RepeatedPtrField<Storage> field;
    for (auto& s : storages) *field.Add() = std::move(s);
    return manager->AddStorages(cid, field, timeout);
  }
  bool Did(const std::string& op) {
    return std::find(mounter.ops.begin(), mounter.ops.end(), op) != mounter.ops.end();
  }
};

}  // namespace

TEST_CASE("mkdir directive: well-formed specs", "[storage]") {
  auto d = ParseMkdirDirective("{{ mount 0 }}/upper:0755");
  REQUIRE(d.ok());
  CHECK(d->mount_index == 0);
  CHECK(d->relative_path == "upper");
  CHECK(d->mode == 0755);
  CHECK_FALSE(d->uid.has_value());
  auto full = ParseMkdirDirective("{{mount 1}}/a/b:0700:1000:1001");
  REQUIRE(full.ok());
  CHECK(full->mount_index == 1);
  CHECK(full->relative_path == "a/b");
  CHECK(full->mode == 0700);
  CHECK(*full->uid == 1000);
  CHECK(*full->gid == 1001);
  CHECK(ParseMkdirDirective("{{ mount 0 }}")->relative_path.empty());
}

TEST_CASE("mkdir directive: malformed specs name themselves", "[storage]") {
  for (const char* bad : {"/abs/path:0755", "upper:0755", "{{ mount 2 }}/x", "{{ mount }}/x", "{{ mount 0 }}x",
                          "{{ mount 0 }}/x:0855", "{{ mount 0 }}/x:", "{{ mount 0 }}/x:0755:1000",
                          "{{ mount 0 }}/x:0755:a:b", "{{ mount 0 }}/x:0755:-1:0", "{{ mount 0 }}/x:1:2:3:4",
                          "{{ mount 0 /x"}) {
    auto d = ParseMkdirDirective(bad);
    INFO(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(d.status().message()).find(bad) != std::string::npos);
  }
}

TEST_CASE("mount point validation", "[storage]") {
  const std::vector<std::string> roots = {kRun, "/run/sandbox"};
  CHECK(ValidateMountPoint(kRun + "/c1/rootfs", roots).ok());
  CHECK(ValidateMountPoint("/run/sandbox/shared", roots).ok());
  for (const std::string& bad : {std::string(""), std::string("relative"), kRun, kRun + "/", kRun + "/../etc",
                                 kRun + "/a/./b", kRun + "//a", std::string("/etc/passwd"),
                                 std::string("/run/kata-containers-evil/x"), kRun + std::string("/a\0b", 4)}) {
    INFO(bad);
    CHECK(ValidateMountPoint(bad, roots).code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("registry: a driver registered twice is an error", "[storage]") {
  StorageHandlerRegistry r;
  REQUIRE(r.Register(std::make_shared<BlkStorageHandler>()).ok());
  CHECK(r.Register(std::make_shared<BlkStorageHandler>()).code() == absl::StatusCode::kAlreadyExists);
  CHECK(r.Find("blk") != nullptr);
  CHECK(r.Find("9p") == nullptr);
}

TEST_CASE("plan: the multi-layer group is classified", "[storage]") {
  const Storage up = Upper(), lo0 = Lower("03/00"), lo1 = Lower("04/00");
  auto plan = PlanMultiLayer({&lo0, &up, &lo1});
  REQUIRE(plan.ok());
  CHECK(plan->upper == &up);
  CHECK(plan->lowers == std::vector<const Storage*>{&lo0, &lo1});
  CHECK(plan->mount_point == kRootfs);
  CHECK(plan->upper_dirs.size() == 2);
  CHECK(plan->lower_dirs.empty());
  // Classification by fstype alone (no explicit upper/lower option).
  const Storage ext4 = MakeStorage("erofs.multi-layer", "02/00", "EXT4", kRootfs, {});
  const Storage erofs = MakeStorage("erofs.multi-layer", "03/00", "erofs", kRootfs, {});
  auto by_type = PlanMultiLayer({&ext4, &erofs});
  REQUIRE(by_type.ok());
  CHECK(by_type->upper == &ext4);
}

TEST_CASE("plan: bad groups are refused before anything happens", "[storage]") {
  const Storage up = Upper(), up2 = Upper(), lo = Lower("03/00"), far = Lower("04/00", kRun + "/c1/other");
  Storage bad_dir = Lower("04/00");
  bad_dir.add_options("X-kata.mkdir.path=/etc/evil:0755");
  Storage bad_src = Lower("zz");
  Storage both = Lower("04/00");
  both.add_options("X-kata.overlay-upper");
  const std::vector<std::pair<std::vector<const Storage*>, std::string>> cases = {
      {{&lo}, "no upper"},
      {{&up}, "no lower"},
      {{&up, &up2, &lo}, "two upper"},
      {{&up, &lo, &far}, "differs"},
      {{&up, &bad_dir}, "mkdir directive"},
      {{&up, &bad_src}, "PCI path"},
      {{&up, &both}, "both upper and lower"},
  };
  for (const auto& [group, want] : cases) {
    auto plan = PlanMultiLayer(group);
    INFO(want);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(plan.status().message()).find(want) != std::string::npos);
  }
}

TEST_CASE("manager: a multi-layer rootfs is mounted in the reference's order", "[storage]") {
  Harness h;
  Storage lo1 = Lower("04/00");
  lo1.add_options("X-kata.mkdir.path={{ mount 1 }}/etc:0755");
  auto mps = h.Add("c1", {Upper(), Lower("03/00"), lo1});
  INFO(mps.status());
  REQUIRE(mps.ok());
  CHECK(*mps == std::vector<std::string>{kRootfs});  // one distinct mount point, once
  const std::string ws = kRun + "/c1/multi-layer";
  std::vector<std::string> mounts;
  for (const auto& op : h.mounter.ops) {
    if (op.starts_with("mount")) mounts.push_back(op);
  }
  CHECK(mounts == std::vector<std::string>{
                      "mount ext4 /dev/vda " + ws + "/upper",
                      "mount erofs /dev/vdb " + ws + "/lower-0",
                      "mount erofs /dev/vdc " + ws + "/lower-1",
                      "mount overlay overlay " + kRootfs,
                  });
  CHECK(h.mounter.data_of[kRootfs] ==
        "upperdir=" + ws + "/upper/upper,lowerdir=" + ws + "/lower-0:" + ws + "/lower-1,workdir=" + ws + "/upper/work");
  CHECK((h.mounter.flags_of[ws + "/lower-0"] & MS_RDONLY) != 0);
  CHECK(h.mounter.flags_of[ws + "/upper"] == 0);
  CHECK(h.mounter.data_of[ws + "/upper"].empty());  // X-kata.* never reach mount(2)
  // {{ mount 0 }} directives after the upper mount and before the lowers; {{ mount 1 }} after.
  const auto pos = [&](const std::string& op) {
    return std::find(h.mounter.ops.begin(), h.mounter.ops.end(), op) - h.mounter.ops.begin();
  };
  CHECK(pos("mkdir " + ws + "/upper/upper") > pos("mount ext4 /dev/vda " + ws + "/upper"));
  CHECK(pos("mkdir " + ws + "/upper/upper") < pos("mount erofs /dev/vdb " + ws + "/lower-0"));
  CHECK(pos("mkdir " + ws + "/lower-0/etc") > pos("mount erofs /dev/vdc " + ws + "/lower-1"));
  CHECK(h.manager->RefCount(kRootfs) == 1);
}

TEST_CASE("manager: the group's devices are awaited concurrently", "[storage]") {
  Harness h;
  h.devices.delay = absl::Milliseconds(150);
  const absl::Time start = absl::Now();
  REQUIRE(h.Add("c1", {Upper(), Lower("03/00"), Lower("04/00")}).ok());
  const absl::Duration took = absl::Now() - start;
  CHECK(h.devices.max_in_flight == 3);
  CHECK(took < absl::Milliseconds(400));  // one after another would be >= 450 ms
}

TEST_CASE("manager: a failing lower undoes the upper and every directory", "[storage]") {
  Harness h;
  h.mounter.fail_mount_target = "lower-1";
  auto mps = h.Add("c1", {Upper(), Lower("03/00"), Lower("04/00")});
  REQUIRE_FALSE(mps.ok());
  CHECK(std::string(mps.status().message()).find("lower-1") != std::string::npos);
  const std::string ws = kRun + "/c1/multi-layer";
  CHECK(h.mounter.mounted.empty());
  CHECK(h.mounter.dirs.empty());
  CHECK(h.Did("umount " + ws + "/upper"));
  CHECK(h.Did("umount " + ws + "/lower-0"));
  CHECK(h.Did("rmdir " + ws + "/upper/upper"));  // created inside the mount by this request
  CHECK(h.manager->StorageCount() == 0);
  // Reverse order: lower-0 goes before upper.
  const auto pos = [&](const std::string& op) {
    return std::find(h.mounter.ops.begin(), h.mounter.ops.end(), op) - h.mounter.ops.begin();
  };
  CHECK(pos("umount " + ws + "/lower-0") < pos("umount " + ws + "/upper"));
}

TEST_CASE("manager: a device that never appears leaves nothing", "[storage]") {
  Harness h;
  auto mps = h.Add("c1", {Upper(), Lower("05/00")}, absl::Milliseconds(50));
  REQUIRE_FALSE(mps.ok());
  CHECK(mps.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(h.mounter.mounted.empty());
  CHECK(h.mounter.dirs.empty());
  CHECK(h.manager->StorageCount() == 0);
}

TEST_CASE("manager: two containers share a storage; the last one unmounts it", "[storage]") {
  Harness h;
  const std::string shared = kRun + "/sandbox/shm";
  auto a = h.Add("c1", {MakeStorage("ephemeral", "tmpfs", "tmpfs", shared, {"size=1m"})});
  auto b = h.Add("c2", {MakeStorage("ephemeral", "tmpfs", "tmpfs", shared, {"size=1m"})});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(std::count_if(h.mounter.ops.begin(), h.mounter.ops.end(), [](const auto& op) { return op.starts_with("mount"); }) == 1);
  CHECK(h.manager->RefCount(shared) == 2);
  REQUIRE(h.manager->RemoveStorages(*a).ok());
  CHECK(h.mounter.mounted.count(shared) == 1);
  REQUIRE(h.manager->RemoveStorages(*b).ok());
  CHECK(h.mounter.mounted.empty());
  CHECK(h.manager->StorageCount() == 0);
}

// Issue 14: storages were added under the manager's lock, device waits included: one
// container whose disk never came held every other container's storages for the timeout.
TEST_CASE("manager: a storage waiting for its device holds up no other container's", "[storage]") {
  Harness h;
  std::atomic<bool> slow_done{false};
  std::thread slow([&] {
    auto r = h.Add("c1", {MakeStorage("blk", "09/00", "ext4", kRun + "/c1/data", {"rw"})}, absl::Seconds(5));
    CHECK_FALSE(r.ok());  // its device never comes
    slow_done = true;
  });
  while (h.devices.in_flight.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  auto fast = h.Add("c2", {MakeStorage("blk", "02/00", "ext4", kRun + "/c2/data", {"rw"})});
  const bool fast_was_first = !slow_done.load();
  slow.join();
  REQUIRE(fast.ok());
  CHECK(fast_was_first);  // before the fix: it waited the slow one's 5 s out
  CHECK(h.manager->RefCount(kRun + "/c2/data") == 1);
  CHECK(h.manager->RefCount(kRun + "/c1/data") == 0);
}

TEST_CASE("manager: two requests adding one mount point at once mount it once", "[storage]") {
  Harness h;
  h.devices.delay = absl::Milliseconds(200);
  const std::string shared = kRun + "/sandbox/disk";
  absl::StatusOr<std::vector<std::string>> a, b;
  std::thread ta([&] { a = h.Add("c1", {MakeStorage("blk", "02/00", "ext4", shared, {"rw"})}); });
  std::thread tb([&] { b = h.Add("c2", {MakeStorage("blk", "02/00", "ext4", shared, {"rw"})}); });
  ta.join();
  tb.join();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(std::count_if(h.mounter.ops.begin(), h.mounter.ops.end(), [](const auto& op) { return op.starts_with("mount"); }) == 1);
  CHECK(h.manager->RefCount(shared) == 2);
}

TEST_CASE("manager: teardown keeps directories inside the writable layer", "[storage]") {
  Harness h;
  auto mps = h.Add("c1", {Upper(), Lower("03/00")});
  REQUIRE(mps.ok());
  h.mounter.ops.clear();
  REQUIRE(h.manager->RemoveStorages(*mps).ok());
  const std::string ws = kRun + "/c1/multi-layer";
  CHECK(h.mounter.mounted.empty());
  CHECK_FALSE(h.Did("rmdir " + ws + "/upper/upper"));  // the container's data stays in the image
  CHECK(h.Did("rmdir " + ws + "/upper"));
  CHECK(h.Did("rmdir " + kRun + "/c1"));
}

TEST_CASE("manager: a failure later in the request releases what it shared", "[storage]") {
  Harness h;
  const std::string shared = kRun + "/sandbox/shm";
  auto first = h.Add("c1", {MakeStorage("ephemeral", "", "tmpfs", shared, {})});
  REQUIRE(first.ok());
  auto second = h.Add("c2", {MakeStorage("ephemeral", "", "tmpfs", shared, {}),
                             MakeStorage("blk", "09/00", "ext4", kRun + "/c2/data", {})},
                      absl::Milliseconds(20));
  REQUIRE_FALSE(second.ok());
  CHECK(h.manager->RefCount(shared) == 1);
  CHECK(h.mounter.mounted.count(shared) == 1);
}

TEST_CASE("manager: hostile requests are refused before any action", "[storage]") {
  Harness h;
  struct Case {
    std::string cid;
    std::vector<Storage> storages;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"../x", {Upper()}, "container id"},
      {"c/1", {Upper()}, "container id"},
      {"c1", {MakeStorage("nfs", "x", "nfs", kRun + "/c1/x", {})}, "unknown storage driver \"nfs\""},
      {"c1", {MakeStorage("blk", "02/00", "ext4", "/etc/x", {})}, "not under an allowed"},
      {"c1", {MakeStorage("blk", "02/00", "ext4", kRun + "/c1/../../etc", {})}, "clean"},
      {"c1", {MakeStorage("blk", "bogus", "ext4", kRun + "/c1/x", {})}, "PCI path"},
      {"c1", {MakeStorage("blk", "02/00", "", kRun + "/c1/x", {})}, "no fstype"},
      {"c1", {MakeStorage("local", "", "", kRun + "/c1/x", {"mode=999"})}, "not octal"},
      {"c1", {MakeStorage("ephemeral", "", "ext4", kRun + "/c1/x", {})}, "tmpfs"},
      {"c1", {Upper(), Upper(), Lower("03/00")}, "two upper"},
      {"c1", {Lower("03/00")}, "no upper"},
      {"c1", {MakeStorage("bogus", "02/00", "ext4", kRootfs, {"X-kata.multi-layer=true"})}, "unknown storage driver"},
  };
  for (const Case& c : cases) {
    auto r = h.Add(c.cid, c.storages);
    INFO(c.want << " -> " << r.status());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(r.status().message()).find(c.want) != std::string::npos);
  }
  CHECK(h.mounter.ops.empty());
  CHECK(h.devices.max_in_flight == 0);
}

TEST_CASE("manager: blk, local and ephemeral storages", "[storage]") {
  Harness h;
  auto mps = h.Add("c1", {MakeStorage("blk", "/dev/vdd", "xfs", kRun + "/c1/vol", {"noatime", "X-kata.foo"}),
                          MakeStorage("ephemeral", "tmpfs", "tmpfs", kRun + "/c1/shm", {"size=64m", "nosuid"}),
                          MakeStorage("local", "", "", kRun + "/c1/local", {"mode=0700"})});
  INFO(mps.status());
  REQUIRE(mps.ok());
  CHECK(mps->size() == 3);
  CHECK(h.Did("mount xfs /dev/vdd " + kRun + "/c1/vol"));
  CHECK(h.mounter.flags_of[kRun + "/c1/vol"] == MS_NOATIME);
  CHECK(h.Did("mount tmpfs tmpfs " + kRun + "/c1/shm"));
  CHECK(h.mounter.data_of[kRun + "/c1/shm"] == "size=64m");
  CHECK(h.mounter.dirs.count(kRun + "/c1/local") == 1);
  REQUIRE(h.manager->RemoveStorages(*mps).ok());
  CHECK(h.mounter.mounted.empty());
  CHECK(h.mounter.dirs.empty());
}

TEST_CASE("9p storage: only a mount tag QEMU could have given is accepted", "[storage]") {
  kata::guest::Virtio9pStorageHandler handler;
  kata::agent::Storage s;
  s.set_driver("9p");
  s.set_mount_point("/run/kata-containers/shared/containers");
  s.set_source("kataShared");
  CHECK(handler.Validate(s).ok());
  for (const std::string& bad : std::vector<std::string>{"", "../etc", "tag with space", "a,b", std::string(32, 'x'), std::string("nul\0x", 5)}) {
    INFO(bad);
    s.set_source(bad);
    const absl::Status st = handler.Validate(s);
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(st.message()).find("/run/kata-containers/shared/containers") != std::string::npos);
  }
}
