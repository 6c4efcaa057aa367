// The agent's /init pieces that decide: boot parameters, the module load order, which channel
// to serve on, and finding the virtio-serial port and virtio devices in a sysfs tree.

#include "guest-agent/init/boot_params.h"
#include "guest-agent/init/module_loader.h"
#include "guest-agent/server/channel_select.h"
#include "guest-agent/server/listener.h"
#include "guest-agent/server/serial_session_splitter.h"
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

TEST_CASE("serial sessions: each HTTP/2 preface starts one; bytes before the first are dropped", "[serial]") {
  using kata::guest::kHttp2ClientPreface;
  using kata::guest::SerialSessionSplitter;
  const std::string preface(kHttp2ClientPreface);
  SerialSessionSplitter s;
  // The tail of a connection the agent already dropped: nothing to deliver.
  CHECK(s.Feed(std::string("\0\0\4old-frame-bytes", 18)).empty());
  CHECK_FALSE(s.in_session());
  // A new connection, then more of it.
  auto first = s.Feed(preface + "SETTINGS");
  REQUIRE(first.size() == 1);
  CHECK(first[0].new_session);
  CHECK(first[0].data == preface + "SETTINGS");
  auto more = s.Feed("HEADERS");
  REQUIRE(more.size() == 1);
  CHECK_FALSE(more[0].new_session);
  CHECK(more[0].data == "HEADERS");
  // The host left and came back unseen: the rest of the old connection, then a new one.
  auto both = s.Feed("old-tail" + preface + "new");
  REQUIRE(both.size() == 2);
  CHECK_FALSE(both[0].new_session);
  CHECK(both[0].data == "old-tail");
  CHECK(both[1].new_session);
  CHECK(both[1].data == preface + "new");
}

TEST_CASE("serial sessions: a preface split across reads still starts a session whole", "[serial]") {
  using kata::guest::kHttp2ClientPreface;
  const std::string preface(kHttp2ClientPreface);
  for (size_t cut = 1; cut < preface.size(); ++cut) {
    INFO("cut at " << cut);
    kata::guest::SerialSessionSplitter s;
    REQUIRE(s.Feed(preface + "a").size() == 1);
    auto before = s.Feed("b" + preface.substr(0, cut));
    REQUIRE(before.size() == 1);
    CHECK(before[0].data == "b" + preface.substr(0, cut));  // went to the old session
    auto after = s.Feed(preface.substr(cut) + "c");
    REQUIRE(after.size() == 1);
    CHECK(after[0].new_session);
    CHECK(after[0].data == preface + "c");
  }
  // After the session ended, bytes are dropped until the next preface, even one that is split.
  kata::guest::SerialSessionSplitter s;
  REQUIRE(s.Feed(preface).size() == 1);
  s.EndSession();
  CHECK(s.Feed("rest of the old one").empty());
  CHECK(s.Feed(preface.substr(0, 5)).empty());
  auto next = s.Feed(preface.substr(5));
  REQUIRE(next.size() == 1);
  CHECK(next[0].new_session);
  CHECK(next[0].data == preface);
}
