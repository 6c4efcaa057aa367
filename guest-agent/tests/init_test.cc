// The agent's /init pieces that decide: boot parameters, the module load order, which channel
// to serve on, and finding the virtio-serial port and virtio devices in a sysfs tree.

#include "guest-agent/init/boot_params.h"
#include "guest-agent/init/module_loader.h"
#include "guest-agent/server/channel_select.h"
#include "guest-agent/server/listener.h"
#include "libkata/testing/test_support.h"

using kata::guest::ChannelKind;
using kata::guest::ChannelProbe;

TEST_CASE("init: agent.* kernel parameters; the kernel's own are ignored", "[init]") {
  auto p = kata::guest::ParseBootParams(
      "console=ttyS0 panic=1 agent.channel=serial agent.log=debug agent.hotplug_timeout=2500ms quiet\n");
  INFO(p.status());
  REQUIRE(p.ok());
  CHECK(p->channel == ChannelKind::kSerial);
  CHECK(p->log_level == "debug");
  CHECK(p->hotplug_timeout == absl::Milliseconds(2500));
  // Later wins: the user's kernel_params come after the runtime's.
  CHECK(kata::guest::ParseBootParams("agent.log=info agent.log=warn")->log_level == "warn");
  auto none = kata::guest::ParseBootParams("root=/dev/vda ro");
  REQUIRE(none.ok());
  CHECK(none->channel == ChannelKind::kAuto);
  CHECK_FALSE(none->log_level.has_value());
  for (const char* bad : {"agent.channel=tcp", "agent.log=loud", "agent.hotplug_timeout=soon",
                          "agent.hotplug_timeout=-1s", "agent.debug_console", "agent.unknown=1"}) {
    INFO(bad);
    auto r = kata::guest::ParseBootParams(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.status().message()).find(std::string(bad).substr(0, 10)) != std::string::npos);
  }
}

TEST_CASE("init: the module load order with virtio conditions", "[init]") {
  auto entries = kata::guest::ParseLoadOrder(
      "# built by rootfs-builder\nvirtio_blk.ko\n\nvsock.ko virtio=0x0013\n9p.ko virtio=0x0009\r\n");
  INFO(entries.status());
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[0].file == "virtio_blk.ko");
  CHECK_FALSE((*entries)[0].virtio_id.has_value());
  CHECK((*entries)[1].virtio_id == 0x13u);
  CHECK((*entries)[2].virtio_id == 0x9u);
  for (const char* bad : {"../evil.ko\n", "a/b.ko\n", "x.ko pci=1\n", "x.ko virtio=zz\n", "x.ko virtio=0x1 more\n"}) {
    INFO(bad);
    CHECK(kata::guest::ParseLoadOrder(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("init: modules load only when their virtio device is there; a bad one is reported", "[init]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("load-order"), "not-a-module.ko\nvsock.ko virtio=0x0013\n");
  kata::testing::WriteFile(dir.Sub("not-a-module.ko"), "this is no ELF module");
  auto report = kata::guest::LoadModules(dir.path(), {0x3});
  INFO(report.status());
  REQUIRE(report.ok());
  CHECK(report->loaded.empty());
  CHECK(report->skipped == std::vector<std::string>{"vsock.ko"});
  REQUIRE(report->failures.size() == 1);
  CHECK(report->failures[0].rfind("not-a-module.ko: ", 0) == 0);
  // No load-order file: an image without modules.
  kata::testing::TempDir empty;
  auto none = kata::guest::LoadModules(empty.path(), {});
  REQUIRE(none.ok());
  CHECK(none->loaded.empty());
}

TEST_CASE("init: virtio device ids and the agent's port from a sysfs tree", "[init]") {
  kata::testing::TempDir sys;
  kata::testing::MakeDirs(sys.Sub("bus/virtio0"));
  kata::testing::MakeDirs(sys.Sub("bus/virtio1"));
  kata::testing::WriteFile(sys.Sub("bus/virtio0/device"), "0x0003\n");
  kata::testing::WriteFile(sys.Sub("bus/virtio1/device"), "0x0013\n");
  CHECK(kata::guest::VirtioDeviceIds(sys.Sub("bus")) == std::set<uint32_t>{0x3, 0x13});
  CHECK(kata::guest::VirtioDeviceIds(sys.Sub("missing")).empty());

  kata::testing::MakeDirs(sys.Sub("ports/vport0p0"));
  kata::testing::MakeDirs(sys.Sub("ports/vport0p1"));
  kata::testing::WriteFile(sys.Sub("ports/vport0p0/name"), "org.qemu.guest_agent.0\n");
  kata::testing::WriteFile(sys.Sub("ports/vport0p1/name"), "agent.channel.0\n");
  auto port = kata::guest::FindVirtioPort(sys.Sub("ports"), "agent.channel.0");
  REQUIRE(port.ok());
  CHECK(*port == "/dev/vport0p1");
  CHECK(kata::guest::FindVirtioPort(sys.Sub("ports"), "other").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("init: auto prefers vsock, then the serial port; a forced channel must exist", "[init]") {
  using kata::guest::ChooseChannel;
  const ChannelProbe both{true, "/dev/vport0p1"};
  const ChannelProbe serial{false, "/dev/vport0p1"};
  const ChannelProbe nothing{false, ""};
  CHECK(*ChooseChannel(ChannelKind::kAuto, both) == ChannelKind::kVsock);
  CHECK(*ChooseChannel(ChannelKind::kAuto, serial) == ChannelKind::kSerial);
  CHECK(*ChooseChannel(ChannelKind::kSerial, both) == ChannelKind::kSerial);
  CHECK(ChooseChannel(ChannelKind::kVsock, serial).status().code() == absl::StatusCode::kFailedPrecondition);
  auto none = ChooseChannel(ChannelKind::kAuto, nothing);
  CHECK(none.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(none.status().message()).find("agent.channel.0") != std::string::npos);
}
