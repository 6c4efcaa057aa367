// The agent for real (root) under the lifecycle faults issue 14 found: execs that finished,
// background children holding an exec's output, many execs in a row. Fixture: agent_fixture.h.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>

#include "guest-agent/testing/loop_device.h"
#include "guest-agent/tests/agent_fixture.h"
#include "libkata/mount/mountinfo.h"
#include "libkata/base/str_cat.h"

using namespace agent_test;  // NOLINT: the fixture is this test's vocabulary

namespace {

size_t OpenFds(pid_t pid) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kata::StrCat("/proc/", pid, "/fd"))) {
    (void)e;
    ++n;
  }
  return n;
}

// One gauge of the agent's GetMetrics text.
uint64_t Metric(Fixture& f, const std::string& name) {
  agent::GetMetricsRequest req;
  agent::Metrics resp;
  const absl::Status s = f.agent.stub().GetMetrics(req, &resp);
  INFO(s.message());
  REQUIRE(s.ok());
  const size_t at = resp.metrics().find("\n" + name + " ");
  INFO(resp.metrics());
  REQUIRE(at != std::string::npos);
  return std::stoull(resp.metrics().substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("agent lifecycle: GetMetrics reports the agent's fds, fd limit and memory as /proc sees them", "[agent][root]") {
  Fixture f;
  const uint64_t fds = Metric(f, "kata_agent_process_open_fds");
  const size_t proc_fds = OpenFds(f.agent.pid());
  CHECK(fds + 2 >= proc_fds);  // a gRPC call's socket may come or go in between
  CHECK(fds <= proc_fds + 2);
  CHECK(Metric(f, "kata_agent_process_max_fds") > 1024);  // raised at start
  const auto status = kata::testing::ReadFile(kata::StrCat("/proc/", f.agent.pid(), "/status"));
  CHECK(Metric(f, "kata_agent_process_resident_memory_bytes") > 1024 * 1024);
  CHECK(status.find("VmRSS:") != std::string::npos);
  REQUIRE(f.Create("c1", {"sleep", "3600"}).ok());
  CHECK(Metric(f, "kata_agent_containers") == 1);
  REQUIRE(f.Remove("c1", 5).ok());
}

// Issue 14: a finished exec kept its pipes in the agent for as long as its container lived;
// an exec probe every 10 s ran the agent out of fds within an hour.
TEST_CASE("agent lifecycle: finished execs are released; the agent's fds stay flat", "[agent][root]") {
  Fixture f;
  REQUIRE(f.Create("c1", {"sleep", "3600"}).ok());
  REQUIRE(f.Start("c1").ok());
  auto one_exec = [&](int i) {
    const std::string id = "probe" + std::to_string(i);
    REQUIRE(f.Exec("c1", id, {"echo", "alive"}).ok());
    // As the shim does: output and wait side by side.
    auto out = std::async(std::launch::async, [&] { return f.ReadToEnd("c1", id, false, std::chrono::seconds(20)); });
    auto err = std::async(std::launch::async, [&] { return f.ReadToEnd("c1", id, true, std::chrono::seconds(20)); });
    CHECK(f.Wait("c1", id) == 0);
    CHECK(out.get() == std::optional<std::string>("alive\n"));
    CHECK(err.get() == std::optional<std::string>(""));
  };
  for (int i = 0; i < 5; ++i) one_exec(i);
  const uint64_t after_warmup = Metric(f, "kata_agent_process_open_fds");
  const uint64_t rss_warm = Metric(f, "kata_agent_process_resident_memory_bytes");
  // ci/soak runs 1,000.
  const char* soak = std::getenv("KATA_SOAK_EXECS");
  const int execs = soak != nullptr && std::atoi(soak) > 5 ? std::atoi(soak) : 65;
  for (int i = 5; i < execs; ++i) one_exec(i);
  const uint64_t after = Metric(f, "kata_agent_process_open_fds");
  const uint64_t rss = Metric(f, "kata_agent_process_resident_memory_bytes");
  std::printf("kata-measure: agent soak execs=%d: fds %llu -> %llu, RSS %llu -> %llu kB\n", execs,
              static_cast<unsigned long long>(after_warmup), static_cast<unsigned long long>(after),
              static_cast<unsigned long long>(rss_warm / 1024), static_cast<unsigned long long>(rss / 1024));
  INFO("agent fds after 5 execs: " << after_warmup << ", after " << execs << ": " << after);
  CHECK(after <= after_warmup + 4);  // 3 per exec before the fix: +180 after 65
  // A released exec is gone: asking for it again is NotFound, its id free again.
  agent::WaitProcessRequest w;
  w.set_container_id("c1");
  w.set_exec_id("probe1");
  agent::WaitProcessResponse resp;
  CHECK(f.agent.stub().WaitProcess(w, &resp).code() == absl::StatusCode::kNotFound);
  REQUIRE(f.Exec("c1", "probe1", {"true"}).ok());
  CHECK(f.Wait("c1", "probe1") == 0);
  REQUIRE(f.Remove("c1", 5).ok());
}

// Issue 14: `exec sh -c 'sleep 3600 &'`: the background child holds the exec's stdout, so
// its output never ended and the shim's Delete(exec) waited on it forever.
TEST_CASE("agent lifecycle: an exec's output ends once its exit is reported, whatever its children hold", "[agent][root]") {
  Fixture f;
  REQUIRE(f.Create("c1", {"sleep", "3600"}).ok());
  REQUIRE(f.Start("c1").ok());
  REQUIRE(f.Exec("c1", "bg", {"sh", "-c", "echo before; sleep 3600 & echo after"}).ok());
  auto out = std::async(std::launch::async, [&] { return f.ReadToEnd("c1", "bg", false, std::chrono::seconds(20)); });
  CHECK(f.Wait("c1", "bg") == 0);
  const auto text = out.get();
  REQUIRE(text.has_value());  // before the fix: no EOF while the sleep lives
  CHECK(*text == "before\nafter\n");
  CHECK(f.ReadToEnd("c1", "bg", true, std::chrono::seconds(20)) == std::optional<std::string>(""));
  // The container's own output is unaffected: its init is not an exec.
  REQUIRE(f.Remove("c1", 5).ok());
}

// Issue 14: when the host's CreateContainer gave up (a timeout) and it sent RemoveContainer,
// the agent answered Unavailable and finished the creation anyway: a container the host no
// longer knew of stayed in the VM, holding its mounts, until the sandbox went.
TEST_CASE("agent lifecycle: RemoveContainer during CreateContainer undoes the creation when it ends and answers then",
          "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f({"--hotplug-timeout", "30s"});
  const std::string image = f.tmp.Sub("data.ext4");
  REQUIRE(std::system(("mkfs.ext4 -q -F " + image + " 8M >/dev/null 2>&1").c_str()) == 0);
  auto index = kata::guest::testing::LoopDevice::FreeIndex();
  REQUIRE(index.ok());
  const std::string mount_point = f.agent.sandbox_dir() + "/late/data";
  // Its storage's disk is not there yet: the creation waits for it.
  auto creating = std::async(std::launch::async, [&] {
    agent::CreateContainerRequest req;
    req.set_container_id("late");
    *req.mutable_oci() = MakeSpec(f.RootfsOf("late"), {"sleep", "3600"});
    *req.add_storages() = LocalRootfs(f.RootfsOf("late"));
    agent::Storage* s = req.add_storages();
    s->set_driver("blk");
    s->set_source("/dev/loop" + std::to_string(*index));
    s->set_fstype("ext4");
    s->set_mount_point(mount_point);
    google::protobuf::Empty e;
    return f.agent.stub().CreateContainer(req, &e);
  });
  ::usleep(500 * 1000);
  auto removing = std::async(std::launch::async, [&] { return f.Remove("late", 30); });
  // The removal waits for the creation, which waits for its disk.
  CHECK(removing.wait_for(std::chrono::milliseconds(500)) == std::future_status::timeout);
  auto disk = kata::guest::testing::LoopDevice::Attach(image, false, *index);  // the disk comes
  INFO(disk.status());
  REQUIRE(disk.ok());
  const absl::Status created = creating.get();
  INFO(created.message());
  CHECK(created.code() == absl::StatusCode::kAborted);
  CHECK(created.message().find("removed while it was being created") != std::string::npos);
  const absl::Status removed = removing.get();
  INFO(removed.message());
  CHECK(removed.ok());
  // Nothing of it is left: no container, no mount of its disk, its id free again.
  CHECK(Metric(f, "kata_agent_containers") == 0);
  CHECK_FALSE(kata::mount::IsMountPoint(mount_point).value_or(false));
  CHECK(kata::testing::ReadFile("/proc/self/mountinfo").find(disk->name()) == std::string::npos);
  CHECK(f.Start("late").code() == absl::StatusCode::kNotFound);
}
