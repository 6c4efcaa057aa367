// linux.devices -> what the VM is given (pure, with a lookup standing for the host's /dev),
// and the host's node for a block device's numbers (a real loop device).

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <memory>

#include "host-runtime/devices/device_plan.h"
#include "host-runtime/devices/host_block_device.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::runtime::DeviceCgroupAllowsWrite;
using kata::runtime::PlanContainerDevices;

namespace {

// The shape `ctr run --device` writes: the node, a deny-all rule, containerd's default
// allows, and an allow for the device (containerd 1.6.20's WithDevices / WithLinuxDevice).
kata::oci::Spec CtrSpec(const std::string& devices, const std::string& extra_rules = "") {
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "linux": {"devices": [)" + devices + R"(],
      "resources": {"devices": [{"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
        {"allow": true, "type": "b", "major": 7, "minor": 5, "access": "rwm"})" + extra_rules + R"(]}}})",
                                       "device plan test");
  REQUIRE(spec.ok());
  return *spec;
}

// The host's /dev for the pure tests: 7:5 is /dev/loop5, 8:0 /dev/sda.
absl::StatusOr<std::string> FakeHost(int64_t major, int64_t minor) {
  static const std::map<std::pair<int64_t, int64_t>, std::string> nodes = {{{7, 5}, "/dev/loop5"}, {{8, 0}, "/dev/sda"}};
  auto it = nodes.find({major, minor});
  if (it == nodes.end()) return absl::NotFoundError("the host has no block device " + std::to_string(major) + ":" + std::to_string(minor));
  return it->second;
}

}  // namespace

TEST_CASE("device plan: ctr run --device of a block device is hot-plugged, writable as its rule allows", "[devices]") {
  auto plan = PlanContainerDevices(
      CtrSpec(R"({"path": "/dev/loop5", "type": "b", "major": 7, "minor": 5, "fileMode": 432, "uid": 0, "gid": 0})"),
      FakeHost);
  REQUIRE(plan.ok());
  REQUIRE(plan->block.size() == 1);
  CHECK(plan->block[0].spec_index == 0);
  CHECK(plan->block[0].container_path == "/dev/loop5");
  CHECK(plan->block[0].host_path == "/dev/loop5");
  CHECK_FALSE(plan->block[0].read_only);
}

TEST_CASE("device plan: a device whose rules allow no writes is attached read-only; the last matching rule decides",
          "[devices]") {
  // docker run --device /dev/sda:/dev/xvda:r
  const std::string sda = R"({"path": "/dev/xvda", "type": "b", "major": 8, "minor": 0})";
  auto ro = PlanContainerDevices(CtrSpec(sda, R"(, {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"})"), FakeHost);
  REQUIRE(ro.ok());
  REQUIRE(ro->block.size() == 1);
  CHECK(ro->block[0].container_path == "/dev/xvda");
  CHECK(ro->block[0].host_path == "/dev/sda");
  CHECK(ro->block[0].read_only);
  // A wildcard allow of every block device, then a deny of writes to 8:0.
  auto spec = CtrSpec(sda, R"(, {"allow": true, "type": "b", "access": "rwm"}, {"allow": false, "type": "b", "major": 8, "minor": 0, "access": "w"})");
  CHECK_FALSE(DeviceCgroupAllowsWrite(spec, 'b', 8, 0));
  CHECK(DeviceCgroupAllowsWrite(spec, 'b', 8, 16));
  // Empty access means rwm; "a" and -1 are wildcards; no rules at all: nothing restricts.
  spec = CtrSpec(sda, R"(, {"allow": true, "type": "a", "major": -1, "minor": -1, "access": ""})");
  CHECK(DeviceCgroupAllowsWrite(spec, 'b', 8, 0));
  spec.mutable_linux()->mutable_resources()->clear_devices();
  CHECK(DeviceCgroupAllowsWrite(spec, 'b', 8, 0));
  // Not allowed at all (only the deny-all matches): read-only, and the guest's cgroup denies reads too.
  CHECK_FALSE(DeviceCgroupAllowsWrite(CtrSpec(sda), 'b', 8, 0));
}

TEST_CASE("device plan: the guest's own character devices keep their numbers; FIFOs are made in the guest",
          "[devices]") {
  auto plan = PlanContainerDevices(CtrSpec(R"({"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
      {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200},
      {"path": "/dev/null2", "type": "c", "major": 1, "minor": 3},
      {"path": "/dev/random", "type": "u", "major": 1, "minor": 8},
      {"path": "/dev/pipe", "type": "p"})"),
                                   FakeHost);
  REQUIRE(plan.ok());
  CHECK(plan->block.empty());
}

TEST_CASE("device plan: entries the VM cannot be given are refused, naming the entry", "[devices]") {
  struct Case {
    const char* what;
    std::string devices;
    absl::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"a host serial port", R"({"path": "/dev/ttyS0", "type": "c", "major": 4, "minor": 64})",
       absl::StatusCode::kInvalidArgument, "linux.devices[0] (/dev/ttyS0): character device 4:64 is the host's"},
      {"a GPU under ctr --privileged", R"({"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
        {"path": "/dev/dri/card0", "type": "c", "major": 226, "minor": 0})",
       absl::StatusCode::kInvalidArgument, "linux.devices[1] (/dev/dri/card0): character device 226:0"},
      {"a VFIO group", R"({"path": "/dev/vfio/12", "type": "c", "major": 243, "minor": 0})",
       absl::StatusCode::kUnimplemented, "linux.devices[0] (/dev/vfio/12): VFIO passthrough is not supported yet"},
      {"a block device the host lacks", R"({"path": "/dev/vdz", "type": "b", "major": 7, "minor": 99})",
       absl::StatusCode::kNotFound, "linux.devices[0] (/dev/vdz): the host has no block device 7:99"},
      {"negative numbers", R"({"path": "/dev/x", "type": "b", "major": -1, "minor": 0})",
       absl::StatusCode::kInvalidArgument, "linux.devices[0] (/dev/x): major and minor are required"},
      {"a relative path", R"({"path": "dev/x", "type": "b", "major": 7, "minor": 5})",
       absl::StatusCode::kInvalidArgument, "linux.devices[0] (dev/x): path is not absolute"},
      {"one path twice", R"({"path": "/dev/x", "type": "b", "major": 7, "minor": 5},
        {"path": "/dev/x", "type": "b", "major": 8, "minor": 0})",
       absl::StatusCode::kInvalidArgument, "linux.devices[1] (/dev/x): a second device at this path"},
      {"an unknown type", R"({"path": "/dev/x", "type": "s", "major": 7, "minor": 5})",
       absl::StatusCode::kInvalidArgument, "linux.devices[0] (/dev/x): type \"s\" is not one of b, c, u, p"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    auto plan = PlanContainerDevices(CtrSpec(c.devices), FakeHost);
    REQUIRE_FALSE(plan.ok());
    INFO(plan.status());
    CHECK(plan.status().code() == c.code);
    CHECK(plan.status().message().find(c.message) != absl::string_view::npos);
  }
}

TEST_CASE("host block device: a loop device's numbers name its node; other numbers are not found", "[devices][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  const std::string file = tmp.Sub("disk.img");
  kata::testing::WriteFile(file, std::string(1 << 20, 'x'));
  const std::string out = kata::testing::Capture("losetup --find --show " + file);
  REQUIRE(out.starts_with("/dev/loop"));
  const std::string node = out.substr(0, out.find('\n'));
  std::unique_ptr<const std::string, void (*)(const std::string*)> detach(
      &node, [](const std::string* n) { (void)std::system(("losetup -d " + *n).c_str()); });
  struct stat st;
  REQUIRE(::stat(node.c_str(), &st) == 0);
  auto found = kata::runtime::FindHostBlockDevice(major(st.st_rdev), minor(st.st_rdev));
  INFO(found.status());
  REQUIRE(found.ok());
  CHECK(*found == node);
  // /dev/null's numbers as a block device, and numbers out of range.
  CHECK(kata::runtime::FindHostBlockDevice(1, 3).status().code() == absl::StatusCode::kNotFound);
  CHECK(kata::runtime::FindHostBlockDevice(7, 1 << 21).status().code() == absl::StatusCode::kInvalidArgument);
  // A /dev whose node of that name is another device: refused, never opened.
  const std::string fake_dev = tmp.Sub("dev");
  REQUIRE(::mkdir(fake_dev.c_str(), 0755) == 0);
  REQUIRE(::mknod((fake_dev + "/" + node.substr(5)).c_str(), S_IFBLK | 0600, makedev(1, 3)) == 0);
  auto other = kata::runtime::FindHostBlockDevice(major(st.st_rdev), minor(st.st_rdev), "/sys", fake_dev);
  CHECK(other.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(other.status().message().find("is another device") != absl::string_view::npos);
}

TEST_CASE("device plan: a privileged container's host devices stay on the host; the guest's own are its /dev", "[devices]") {
  // `ctr run --privileged`: WithHostDevices lists the host's /dev, WithAllDevicesAllowed one rule.
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "linux": {"devices": [{"path": "/dev/ttyS0", "type": "c", "major": 4, "minor": 64},
                          {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
                          {"path": "/dev/vfio/vfio", "type": "c", "major": 10, "minor": 196}],
              "resources": {"devices": [{"allow": true, "access": "rwm"}]}}})",
                                       "privileged spec");
  REQUIRE(spec.ok());
  CHECK(kata::runtime::DeviceCgroupAllowsAll(*spec));
  auto plan = PlanContainerDevices(*spec, FakeHost);
  REQUIRE(plan.ok());
  CHECK(plan->block.empty());  // the host's disk is never hot-plugged for it
  CHECK(plan->withheld_host_devices == 3);
  // Allowing every device but not mknod, or only block devices, is not privileged.
  for (const char* rule : {R"({"allow": true, "access": "rw"})", R"({"allow": true, "type": "b", "access": "rwm"})",
                           R"({"allow": false, "access": "rwm"})"}) {
    INFO(rule);
    auto narrower = CtrSpec(R"({"path": "/dev/xvda", "type": "b", "major": 8, "minor": 0})");
    auto parsed = kata::oci::ParseSpecJson(std::string(R"({"linux": {"resources": {"devices": [)") + rule + "]}}}", "rule");
    REQUIRE(parsed.ok());
    *narrower.mutable_linux()->mutable_resources()->mutable_devices() = parsed->linux().resources().devices();
    CHECK_FALSE(kata::runtime::DeviceCgroupAllowsAll(narrower));
    auto p = PlanContainerDevices(narrower, FakeHost);
    REQUIRE(p.ok());
    CHECK(p->withheld_host_devices == 0);
    CHECK(p->block.size() == 1);
  }
}
