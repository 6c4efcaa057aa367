#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "guest-agent/uevent/matchers.h"
#include "guest-agent/uevent/uevent.h"
#include "guest-agent/uevent/uevent_monitor.h"
#include "guest-agent/uevent/uevent_store.h"
#include "libkata/testing/test_support.h"

using kata::guest::BlockNameMatcher;
using kata::guest::PciPathBlockMatcher;
using kata::guest::PredicateMatcher;
using kata::guest::Uevent;
using kata::guest::UeventStore;
using kata::guest::VirtioBlkNameMatcher;

namespace {

const std::string kVdaPath = "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio2/block/vda";

std::string Datagram(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    out += p;
    out.push_back('\0');
  }
  return out;
}

Uevent Block(std::string action, std::string devpath, std::string devname, uint64_t seq = 1) {
  Uevent e;
  e.action = std::move(action);
  e.devpath = std::move(devpath);
  e.devname = std::move(devname);
  e.subsystem = "block";
  e.seqnum = seq;
  return e;
}

// A sysfs tree with a `size` file for each device path given.
struct FakeSysfs {
  kata::testing::TempDir dir;
  void SetSize(const std::string& devpath, uint64_t sectors) {
    kata::testing::MakeDirs(dir.path() + devpath);
    kata::testing::WriteFile(dir.path() + devpath + "/size", std::to_string(sectors) + "\n");
  }
  const std::string& root() const { return dir.path(); }
};

}  // namespace

TEST_CASE("uevent: a kernel datagram is parsed", "[uevent]") {
  const auto e = kata::guest::ParseUevent(Datagram(
      {"add@" + kVdaPath, "ACTION=add", "DEVPATH=" + kVdaPath, "SUBSYSTEM=block", "MAJOR=254", "MINOR=0",
       "DEVNAME=vda", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=2042"}));
  REQUIRE(e.ok());
  CHECK(e->action == "add");
  CHECK(e->devpath == kVdaPath);
  CHECK(e->devname == "vda");
  CHECK(e->subsystem == "block");
  CHECK(e->major == 254);
  CHECK(e->minor == 0);
  CHECK(e->seqnum == 2042);
  CHECK(e->Describe().find("vda") != std::string::npos);
}

TEST_CASE("uevent: hostile and foreign datagrams are refused or tolerated", "[uevent]") {
  CHECK_FALSE(kata::guest::ParseUevent("").ok());
  CHECK_FALSE(kata::guest::ParseUevent(Datagram({"libudev", "ACTION=add"})).ok());
  CHECK_FALSE(kata::guest::ParseUevent(Datagram({"noatsign"})).ok());
  CHECK_FALSE(kata::guest::ParseUevent(Datagram({"add@"})).ok());
  CHECK_FALSE(kata::guest::ParseUevent(Datagram({"add@relative/path"})).ok());
  // Keys without '=', empty keys, huge numbers and a missing final NUL do not hurt.
  const std::string odd = Datagram({"change@/devices/x", "garbage", "=value", "MAJOR=99999999999999999999",
                                    "SEQNUM=abc"}) + "DEVNAME=tail";
  const auto e = kata::guest::ParseUevent(odd);
  REQUIRE(e.ok());
  CHECK(e->action == "change");
  CHECK(e->devpath == "/devices/x");
  CHECK(e->devname == "tail");
  CHECK(e->seqnum == 0);
}

TEST_CASE("uevent: a sysfs uevent file seeds an add event", "[uevent]") {
  const auto e = kata::guest::UeventFromSysfs("/devices/virtual/block/loop3", "block",
                                              "MAJOR=7\nMINOR=3\nDEVNAME=loop3\nDEVTYPE=disk\nDISKSEQ=5\n");
  CHECK(e.action == "add");
  CHECK(e.devname == "loop3");
  CHECK(e.major == 7);
  CHECK(e.minor == 3);
  CHECK(e.devpath == "/devices/virtual/block/loop3");
}

TEST_CASE("matchers: PCI path, virtio name, block name; an empty device is not ready", "[uevent]") {
  FakeSysfs sys;
  sys.SetSize(kVdaPath, 2048);
  const std::string pci = "/devices/pci0000:00/0000:00:02.0/0000:01:00.0";
  PciPathBlockMatcher by_pci("02/00", pci, sys.root());
  CHECK(by_pci.Matches(Block("add", kVdaPath, "vda")));
  CHECK_FALSE(by_pci.Matches(Block("remove", kVdaPath, "vda")));
  CHECK_FALSE(by_pci.Matches(Block("add", kVdaPath, "")));
  // Another port, a partition, a different tail: no.
  CHECK_FALSE(PciPathBlockMatcher("03/00", "/devices/pci0000:00/0000:00:03.0/0000:02:00.0", sys.root())
                  .Matches(Block("add", kVdaPath, "vda")));
  sys.SetSize(kVdaPath + "/vda1", 100);
  CHECK_FALSE(by_pci.Matches(Block("add", kVdaPath + "/vda1", "vda1")));
  CHECK_FALSE(by_pci.Matches(Block("add", pci + "/virtioX/block/vda", "vda")));
  CHECK(by_pci.Describe().find("02/00") != std::string::npos);

  CHECK(VirtioBlkNameMatcher("vda", sys.root()).Matches(Block("add", kVdaPath, "vda")));
  CHECK_FALSE(VirtioBlkNameMatcher("vdb", sys.root()).Matches(Block("add", kVdaPath, "vda")));

  const std::string loop = "/devices/virtual/block/loop9";
  sys.SetSize(loop, 0);
  BlockNameMatcher by_name("loop9", sys.root());
  CHECK_FALSE(by_name.Matches(Block("add", loop, "loop9")));  // announced empty
  sys.SetSize(loop, 8);
  CHECK(by_name.Matches(Block("change", loop, "loop9")));     // its file attached
  CHECK_FALSE(VirtioBlkNameMatcher("loop9", sys.root()).Matches(Block("change", loop, "loop9")));
}

TEST_CASE("store: a device seen before the wait is found at once", "[uevent]") {
  UeventStore store;
  store.Deliver(Block("add", "/devices/a", "a"));
  PredicateMatcher m("device a", [](const Uevent& e) { return e.devname == "a"; });
  auto e = store.Wait(m, absl::Seconds(5));
  REQUIRE(e.ok());
  CHECK(e->devpath == "/devices/a");
  CHECK(store.WaiterCount() == 0);
}

TEST_CASE("store: a waiter is woken by the event it waits for", "[uevent]") {
  UeventStore store;
  PredicateMatcher m("device b", [](const Uevent& e) { return e.devname == "b"; });
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(50));
    store.Deliver(Block("add", "/devices/other", "other"));
    store.Deliver(Block("add", "/devices/b", "b"));
  });
  auto e = store.Wait(m, absl::Seconds(10));
  later.join();
  REQUIRE(e.ok());
  CHECK(e->devname == "b");
  CHECK(store.WaiterCount() == 0);
}

TEST_CASE("store: a timeout names what was awaited and what arrived", "[uevent]") {
  UeventStore store;
  store.Deliver(Block("add", "/devices/virtual/block/loop1", "loop1", 77));
  PredicateMatcher m("the missing disk", [](const Uevent&) { return false; });
  const absl::Time start = absl::Now();
  auto e = store.Wait(m, absl::Milliseconds(100));
  const absl::Duration took = absl::Now() - start;
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == absl::StatusCode::kDeadlineExceeded);
  const std::string msg(e.status().message());
  CHECK(msg.find("the missing disk") != std::string::npos);
  CHECK(msg.find("loop1") != std::string::npos);
  CHECK(msg.find("seq 77") != std::string::npos);
  CHECK(took >= absl::Milliseconds(100));
  CHECK(store.WaiterCount() == 0);  // the watcher list does not grow
}

TEST_CASE("store: remove forgets a device; change re-evaluates waiters", "[uevent]") {
  UeventStore store;
  store.Deliver(Block("add", "/devices/c", "c"));
  store.Deliver(Block("remove", "/devices/c", "c"));
  PredicateMatcher m("c", [](const Uevent& e) { return e.devname == "c"; });
  CHECK(store.Wait(m, absl::Milliseconds(10)).status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(store.DeviceCount() == 0);
  // A matcher that only accepts the device once it changed (a loop getting its file).
  PredicateMatcher ready("c ready", [](const Uevent& e) { return e.devname == "c" && e.action == "change"; });
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(20));
    store.Deliver(Block("add", "/devices/c", "c"));
    store.Deliver(Block("change", "/devices/c", "c"));
  });
  auto e = store.Wait(ready, absl::Seconds(10));
  later.join();
  REQUIRE(e.ok());
  CHECK(e->action == "change");
}

TEST_CASE("store: events racing timeouts neither crash nor leak waiters", "[uevent]") {
  UeventStore store;
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    uint64_t seq = 0;
    while (!stop) {
      const std::string name = "d" + std::to_string(seq % 50);
      store.Deliver(Block(seq % 3 == 2 ? "remove" : "add", "/devices/" + name, name, seq));
      ++seq;
    }
  });
  std::vector<std::thread> waiters;
  std::atomic<int> found{0}, timed_out{0};
  for (int t = 0; t < 4; ++t) {
    waiters.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string want = "d" + std::to_string((i * 7 + t) % 60);  // d50..d59 never come
        PredicateMatcher m(want, [want](const Uevent& e) { return e.devname == want && e.action == "add"; });
        auto e = store.Wait(m, absl::Microseconds(200));
        (e.ok() ? found : timed_out)++;
        if (e.ok()) CHECK(e->devname == want);
      }
    });
  }
  for (auto& w : waiters) w.join();
  stop = true;
  producer.join();
  CHECK(found + timed_out == 800);
  CHECK(timed_out > 0);
  CHECK(store.WaiterCount() == 0);
}

namespace {

// A read end with a byte waiting: the monitor polls it readable and its recvmsg fails
// (ENOTSOCK), as a socket gone bad would.
kata::UniqueFd BrokenSocket() {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  REQUIRE(::write(p[1], "x", 1) == 1);
  ::close(p[1]);
  return kata::UniqueFd(p[0]);
}

void AddSysfsDisk(FakeSysfs& sysfs, const std::string& name) {
  const std::string devpath = "/devices/virtual/block/" + name;
  sysfs.SetSize(devpath, 2048);
  kata::testing::WriteFile(sysfs.root() + devpath + "/uevent", "MAJOR=254\nMINOR=16\nDEVNAME=" + name + "\nDEVTYPE=disk\n");
  kata::testing::MakeDirs(sysfs.root() + "/class/block");
  REQUIRE(::symlink(("../../devices/virtual/block/" + name).c_str(), (sysfs.root() + "/class/block/" + name).c_str()) == 0);
}

}  // namespace

// Issue 14: the reader thread returned on an unexpected error, silently: every later device
// wait ran to its timeout as if the disk never came.
TEST_CASE("monitor: a failed read reopens the socket and re-seeds what it missed", "[uevent][root]") {
  KATA_REQUIRE_ROOT();
  FakeSysfs sysfs;
  UeventStore store;
  std::atomic<int> opened{0};
  auto monitor = kata::guest::UeventMonitor::Start(store, sysfs.root(), [&]() -> absl::StatusOr<kata::UniqueFd> {
    if (++opened == 1) return BrokenSocket();
    AddSysfsDisk(sysfs, "vdb");  // came while the reader was down: only the re-seed can tell
    return kata::guest::OpenUeventSocket();
  });
  REQUIRE(monitor.ok());
  auto found = store.Wait(BlockNameMatcher("vdb", sysfs.root()), absl::Seconds(10));
  INFO(found.status());
  REQUIRE(found.ok());
  CHECK(found->devname == "vdb");
  CHECK(opened.load() == 2);
}

TEST_CASE("monitor: a reader that cannot go on fails every wait at once, saying why", "[uevent]") {
  FakeSysfs sysfs;
  UeventStore store;
  auto monitor = kata::guest::UeventMonitor::Start(store, sysfs.root(), [opened = 0]() mutable -> absl::StatusOr<kata::UniqueFd> {
    if (++opened == 1) return BrokenSocket();
    return absl::PermissionDeniedError("no netlink here");
  });
  REQUIRE(monitor.ok());
  // Waits already pending and waits that come later both hear it.
  const auto started = absl::Now();
  auto pending = store.Wait(BlockNameMatcher("vdz", sysfs.root()), absl::Seconds(20));
  CHECK(pending.status().code() == absl::StatusCode::kUnavailable);
  CHECK(pending.status().message().find("uevent reader stopped") != std::string_view::npos);
  CHECK(pending.status().message().find("no netlink here") != std::string_view::npos);
  CHECK(absl::Now() - started < absl::Seconds(20));
  auto later = store.Wait(BlockNameMatcher("vdy", sysfs.root()), absl::Seconds(20));
  CHECK(later.status().code() == absl::StatusCode::kUnavailable);
}
