#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "google/protobuf/util/message_differencer.h"
#include "guest-agent/device/device_handler.h"
#include "guest-agent/device/spec_device_updater.h"
#include "guest-agent/tests/fakes.h"
#include "libkata/testing/test_support.h"

using kata::guest::ApplyDeviceUpdates;
using kata::guest::DeviceUpdate;
using kata::oci::Spec;

namespace {

void AddDevice(Spec& s, const std::string& path, const std::string& type, int64_t major, int64_t minor) {
  auto* d = s.mutable_linux()->add_devices();
  d->set_path(path);
  d->set_type(type);
  d->set_major(major);
  d->set_minor(minor);
}

void AddRule(Spec& s, const std::string& type, std::optional<int64_t> major, std::optional<int64_t> minor,
             const std::string& access = "rwm", bool allow = true) {
  auto* r = s.mutable_linux()->mutable_resources()->add_devices();
  r->set_allow(allow);
  r->set_type(type);
  if (major) r->set_major(*major);
  if (minor) r->set_minor(*minor);
  r->set_access(access);
}

std::pair<int64_t, int64_t> DevNums(const Spec& s, int i) {
  return {s.linux().devices(i).major(), s.linux().devices(i).minor()};
}
std::pair<int64_t, int64_t> RuleNums(const Spec& s, int i) {
  return {s.linux().resources().devices(i).major(), s.linux().resources().devices(i).minor()};
}

// What updating one device at a time does (Kata before its fix): each update rewrites the
// rules that match the device's host numbers in the spec as it is at that moment.
void OneByOne(Spec& spec, const std::vector<DeviceUpdate>& updates) {
  for (const auto& u : updates) {
    for (auto& d : *spec.mutable_linux()->mutable_devices()) {
      if (d.path() != u.container_path) continue;
      const int64_t host_major = d.major(), host_minor = d.minor();
      d.set_major(u.major);
      d.set_minor(u.minor);
      for (auto& r : *spec.mutable_linux()->mutable_resources()->mutable_devices()) {
        if (r.has_major() && r.major() == host_major && r.minor() == host_minor) {
          r.set_major(u.major);
          r.set_minor(u.minor);
        }
      }
    }
  }
}

Spec SwapSpec() {
  Spec s;
  AddDevice(s, "/dev/a", "b", 8, 0);
  AddDevice(s, "/dev/b", "b", 254, 0);
  AddRule(s, "a", std::nullopt, std::nullopt, "rwm", false);  // deny all: a wildcard
  AddRule(s, "b", 8, 0);
  AddRule(s, "b", 254, 0);
  return s;
}
const std::vector<DeviceUpdate> kSwap = {{"/dev/a", 'b', 254, 0, {}}, {"/dev/b", 'b', 8, 16, {}}};

}  // namespace

TEST_CASE("device update: the swap case comes out right", "[device]") {
  Spec spec = SwapSpec();
  REQUIRE(ApplyDeviceUpdates(spec, kSwap).ok());
  CHECK(DevNums(spec, 0) == std::pair<int64_t, int64_t>{254, 0});
  CHECK(DevNums(spec, 1) == std::pair<int64_t, int64_t>{8, 16});
  CHECK_FALSE(spec.linux().resources().devices(0).has_major());  // the wildcard stays a wildcard
  CHECK(RuleNums(spec, 1) == std::pair<int64_t, int64_t>{254, 0});
  CHECK(RuleNums(spec, 2) == std::pair<int64_t, int64_t>{8, 16});
}

TEST_CASE("device update: one by one gets the swap case wrong", "[device]") {
  Spec spec = SwapSpec();
  OneByOne(spec, kSwap);
  // /dev/a's rule was rewritten to 254:0, then matched again as /dev/b's host number.
  CHECK(RuleNums(spec, 1) == std::pair<int64_t, int64_t>{8, 16});
  CHECK(RuleNums(spec, 2) == std::pair<int64_t, int64_t>{8, 16});
}

TEST_CASE("device update: a three-way cycle comes out right", "[device]") {
  Spec spec;
  AddDevice(spec, "/dev/x", "b", 8, 0);
  AddDevice(spec, "/dev/y", "b", 8, 16);
  AddDevice(spec, "/dev/z", "b", 8, 32);
  AddRule(spec, "b", 8, 0, "r");
  AddRule(spec, "b", 8, 16, "w");
  AddRule(spec, "b", 8, 32, "m");
  const std::vector<DeviceUpdate> cycle = {
      {"/dev/x", 'b', 8, 16, {}}, {"/dev/y", 'b', 8, 32, {}}, {"/dev/z", 'b', 8, 0, {}}};
  Spec naive = spec;
  REQUIRE(ApplyDeviceUpdates(spec, cycle).ok());
  CHECK(RuleNums(spec, 0) == std::pair<int64_t, int64_t>{8, 16});
  CHECK(RuleNums(spec, 1) == std::pair<int64_t, int64_t>{8, 32});
  CHECK(RuleNums(spec, 2) == std::pair<int64_t, int64_t>{8, 0});
  CHECK(spec.linux().resources().devices(0).access() == "r");
  OneByOne(naive, cycle);
  CHECK(RuleNums(naive, 0) != std::pair<int64_t, int64_t>{8, 16});
}

TEST_CASE("device update: block and char devices with equal numbers are apart", "[device]") {
  Spec spec;
  AddDevice(spec, "/dev/blk", "b", 10, 1);
  AddDevice(spec, "/dev/chr", "c", 10, 1);
  AddRule(spec, "b", 10, 1);
  AddRule(spec, "c", 10, 1);
  AddRule(spec, "c", 10, std::nullopt);  // minor wildcard: untouched
  REQUIRE(ApplyDeviceUpdates(spec, {{"/dev/blk", 'b', 254, 3, {}}}).ok());
  CHECK(RuleNums(spec, 0) == std::pair<int64_t, int64_t>{254, 3});
  CHECK(RuleNums(spec, 1) == std::pair<int64_t, int64_t>{10, 1});
  CHECK(DevNums(spec, 1) == std::pair<int64_t, int64_t>{10, 1});
  CHECK_FALSE(spec.linux().resources().devices(2).has_minor());
  CHECK(spec.linux().resources().devices(2).major() == 10);
}

TEST_CASE("device update: final_path renames the device the container sees", "[device]") {
  Spec spec;
  AddDevice(spec, "/dev/vfio/12", "c", 240, 1);
  AddRule(spec, "c", 240, 1);
  REQUIRE(ApplyDeviceUpdates(spec, {{"/dev/vfio/12", 'c', 241, 0, "/dev/vfio/3"}}).ok());
  CHECK(spec.linux().devices(0).path() == "/dev/vfio/3");
  CHECK(RuleNums(spec, 0) == std::pair<int64_t, int64_t>{241, 0});
}

TEST_CASE("device update: errors leave the spec untouched", "[device]") {
  Spec base = SwapSpec();
  AddDevice(base, "/dev/c", "b", 8, 0);  // shares /dev/a's host numbers
  AddDevice(base, "/dev/dup", "c", 1, 1);
  AddDevice(base, "/dev/dup", "c", 1, 2);
  struct Case {
    std::vector<DeviceUpdate> updates;
    absl::StatusCode code;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"/dev/a", 'b', 254, 0, {}}, {"/dev/a", 'b', 254, 1, {}}}, absl::StatusCode::kInvalidArgument,
       "conflicting device updates for /dev/a"},
      {{{"/dev/b", 'b', 8, 16, {}}, {"/dev/missing", 'b', 1, 1, {}}}, absl::StatusCode::kNotFound,
       "missing device in OCI spec: /dev/missing"},
      {{{"/dev/a", 'b', 254, 0, {}}, {"/dev/c", 'b', 254, 7, {}}}, absl::StatusCode::kInvalidArgument,
       "conflicting resource updates for b 8:0"},
      {{{"/dev/a", 'c', 254, 0, {}}}, absl::StatusCode::kInvalidArgument, "type b in the spec but c"},
      {{{"/dev/dup", 'c', 5, 5, {}}}, absl::StatusCode::kInvalidArgument, "more than once"},
  };
  for (const Case& c : cases) {
    Spec spec = base;
    const auto s = ApplyDeviceUpdates(spec, c.updates, {});
    INFO(c.want << " -> " << s);
    CHECK(s.code() == c.code);
    CHECK(std::string(s.message()).find(c.want) != std::string::npos);
    CHECK(google::protobuf::util::MessageDifferencer::Equals(spec, base));
  }
  // Two devices sharing host numbers with the same guest numbers is fine.
  Spec spec = base;
  CHECK(ApplyDeviceUpdates(spec, {{"/dev/a", 'b', 254, 0, {}}, {"/dev/c", 'b', 254, 0, {}}}).ok());
}

TEST_CASE("device update: the agent's own rules come after the batch", "[device]") {
  Spec spec = SwapSpec();
  kata::oci::LinuxDeviceCgroup own;
  own.set_allow(true);
  own.set_type("b");
  own.set_major(8);  // guest-numbered: equal to /dev/a's HOST number on purpose
  own.set_minor(0);
  own.set_access("r");
  REQUIRE(ApplyDeviceUpdates(spec, kSwap, {own}).ok());
  const auto& rules = spec.linux().resources().devices();
  REQUIRE(rules.size() == 4);
  CHECK(RuleNums(spec, 3) == std::pair<int64_t, int64_t>{8, 0});  // not rewritten to 254:0
  CHECK(rules.Get(3).access() == "r");
}

TEST_CASE("device update: generic devices are block nodes the agent waited for", "[device]") {
  KATA_REQUIRE_ROOT();  // mknod
  kata::guest::DeviceHandlerRegistry registry;
  REQUIRE(registry.Register(std::make_shared<kata::guest::GenericDeviceHandler>()).ok());
  CHECK(registry.Register(std::make_shared<kata::guest::GenericDeviceHandler>()).code() ==
        absl::StatusCode::kAlreadyExists);
  kata::testing::TempDir dir;
  kata::guest::testing::FakeDeviceWaiter waiter;
  kata::guest::DeviceContext ctx{waiter, absl::Milliseconds(50)};
  google::protobuf::RepeatedPtrField<kata::agent::Device> devices;
  // Host numbers chosen to collide: the host's /dev/one is 8:16, which is the guest's number
  // of /dev/vdy, and so on round the three nodes.
  const std::vector<std::tuple<std::string, std::string, int, int, int, int>> nodes = {
      {"vdx", "/dev/one", 8, 16, 8, 0}, {"vdy", "/dev/two", 8, 32, 8, 16}, {"vdz", "/dev/three", 8, 0, 8, 32}};
  Spec spec;
  for (const auto& [name, container, host_maj, host_min, guest_maj, guest_min] : nodes) {
    const std::string node = dir.Sub(name);
    REQUIRE(::mknod(node.c_str(), S_IFBLK | 0600, makedev(guest_maj, guest_min)) == 0);
    waiter.devices["/dev/" + name] = node;
    auto* d = devices.Add();
    d->set_type("generic");
    d->set_vm_path("/dev/" + name);
    d->set_container_path(container);
    AddDevice(spec, container, "b", host_maj, host_min);
    AddRule(spec, "b", host_maj, host_min);
  }
  auto updates = kata::guest::CollectDeviceUpdates(devices, registry, ctx);
  INFO(updates.status());
  REQUIRE(updates.ok());
  REQUIRE(ApplyDeviceUpdates(spec, *updates).ok());
  CHECK(DevNums(spec, 0) == std::pair<int64_t, int64_t>{8, 0});
  CHECK(DevNums(spec, 1) == std::pair<int64_t, int64_t>{8, 16});
  CHECK(DevNums(spec, 2) == std::pair<int64_t, int64_t>{8, 32});
  CHECK(RuleNums(spec, 0) == std::pair<int64_t, int64_t>{8, 0});
  CHECK(RuleNums(spec, 1) == std::pair<int64_t, int64_t>{8, 16});
  CHECK(RuleNums(spec, 2) == std::pair<int64_t, int64_t>{8, 32});

  auto* bad = devices.Add();
  bad->set_type("tpm");
  bad->set_id("tpm0");
  CHECK(kata::guest::CollectDeviceUpdates(devices, registry, ctx).status().code() ==
        absl::StatusCode::kInvalidArgument);
  devices.RemoveLast();
  // The host's word alone: /dev/mem (no uevent ever names it), and a char node the waiter
  // would hand over.
  devices.Mutable(0)->set_vm_path("/dev/mem");
  CHECK(kata::guest::CollectDeviceUpdates(devices, registry, ctx).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  REQUIRE(::mknod(dir.Sub("null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);
  waiter.devices["/dev/null"] = dir.Sub("null");
  devices.Mutable(0)->set_vm_path("/dev/null");
  const auto charnode = kata::guest::CollectDeviceUpdates(devices, registry, ctx).status();
  CHECK(charnode.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(charnode.message()).find("is not a block device") != std::string::npos);
}

TEST_CASE("device update: blk by PCI path, vfio by IOMMU group", "[device]") {
  kata::testing::TempDir dir;
  const std::string dev = dir.Sub("dev"), sys = dir.Sub("sys");
  for (const std::string& d : {dev + "/vfio", sys + "/devices/pci0000:00/0000:00:03.0/pci_bus/0000:02",
                               sys + "/devices/pci0000:00/0000:00:03.0/0000:02:00.0", sys + "/kernel/iommu_groups/7"}) {
    kata::testing::MakeDirs(d);
  }
  REQUIRE(::symlink((sys + "/kernel/iommu_groups/7").c_str(),
                    (sys + "/devices/pci0000:00/0000:00:03.0/0000:02:00.0/iommu_group").c_str()) == 0);
  const bool can_mknod = kata::testing::HaveMountPrivileges();
  if (!can_mknod) KATA_SKIP("needs root to make device nodes");
  REQUIRE(::mknod((dev + "/vfio/7").c_str(), S_IFCHR | 0600, makedev(241, 7)) == 0);
  REQUIRE(::mknod((dev + "/vdb").c_str(), S_IFBLK | 0600, makedev(254, 16)) == 0);

  kata::guest::testing::FakeDeviceWaiter waiter;
  waiter.devices = {{"02/00", dev + "/vdb"}};
  kata::guest::DeviceContext ctx{waiter, absl::Seconds(1), sys, dev};
  kata::agent::Device blk;
  blk.set_id("02/00");
  blk.set_type("blk");
  blk.set_vm_path("/dev/vda");  // the host's guess: ignored
  blk.set_container_path("/dev/xvda");
  auto u = kata::guest::BlkDeviceHandler().Update(blk, ctx);
  REQUIRE(u.ok());
  CHECK(u->type == 'b');
  CHECK(u->major == 254);
  CHECK(u->minor == 16);

  kata::agent::Device vfio;
  vfio.set_id("vfio0");
  vfio.set_type("vfio");
  vfio.set_container_path("/dev/vfio/42");
  vfio.add_options("0000:3b:00.0=03/00");
  auto v = kata::guest::VfioDeviceHandler().Update(vfio, ctx);
  INFO(v.status());
  REQUIRE(v.ok());
  CHECK(v->final_path == "/dev/vfio/7");
  CHECK(v->major == 241);
  vfio.set_options(0, "0000:3b:00.0=04/00");
  CHECK_FALSE(kata::guest::VfioDeviceHandler().Update(vfio, ctx).ok());
  vfio.clear_options();
  vfio.set_vm_path(dev + "/vfio/7");
  CHECK(kata::guest::VfioDeviceHandler().Update(vfio, ctx)->final_path == "/dev/vfio/7");
  vfio.set_vm_path(dev + "/vfio/../vdb");
  CHECK(kata::guest::VfioDeviceHandler().Update(vfio, ctx).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("device update: numbers too large to pack are handled and conflicts still seen", "[device]") {
  const int64_t huge = int64_t{1} << 40;
  Spec spec;
  AddDevice(spec, "/dev/p", "c", 5, 1);
  AddDevice(spec, "/dev/q", "c", 5, 1);     // shares /dev/p's host numbers
  AddDevice(spec, "/dev/h", "c", huge, 2);  // a host number that does not pack
  AddRule(spec, "c", 5, 1);
  AddRule(spec, "c", huge, 2);
  Spec same = spec;
  REQUIRE(ApplyDeviceUpdates(same, {{"/dev/p", 'c', huge, 9, {}}, {"/dev/q", 'c', huge, 9, {}},
                                    {"/dev/h", 'c', 7, 7, {}}}).ok());
  CHECK(RuleNums(same, 0) == std::pair<int64_t, int64_t>{huge, 9});
  CHECK(RuleNums(same, 1) == std::pair<int64_t, int64_t>{7, 7});
  // One guest packs, the other does not: still a conflict, in either order.
  for (const auto& order : {std::vector<DeviceUpdate>{{"/dev/p", 'c', huge, 9, {}}, {"/dev/q", 'c', 6, 9, {}}},
                            std::vector<DeviceUpdate>{{"/dev/p", 'c', 6, 9, {}}, {"/dev/q", 'c', huge, 9, {}}}}) {
    Spec s = spec;
    const auto status = ApplyDeviceUpdates(s, order);
    CHECK(std::string(status.message()).find("conflicting resource updates for c 5:1") != std::string::npos);
    CHECK(google::protobuf::util::MessageDifferencer::Equals(s, spec));
  }
}
