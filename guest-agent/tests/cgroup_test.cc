// What the agent decides about cgroups, without a cgroup: resources -> interface files,
// interface files -> statistics. The directory layer is tested for real in
// agent_cgroup_test.cc (the host's cgroup2 mount) and in the VM (shim_test.cc).

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "guest-agent/cgroup/cgroup_stats.h"
#include "guest-agent/cgroup/container_cgroup.h"
#include "guest-agent/cgroup/resources_plan.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::guest::CgroupPlan;
using kata::guest::CgroupWrite;
using kata::guest::PlanCgroupWrites;

namespace {

kata::oci::LinuxResources Resources(const std::string& json) {
  auto spec = kata::oci::ParseSpecJson(R"({"linux": {"resources": )" + json + "}}", "test");
  REQUIRE(spec.ok());
  return spec->linux().resources();
}

std::map<std::string, std::string> Files(const CgroupPlan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& w : plan.writes) out[w.file] += (out[w.file].empty() ? "" : "|") + w.value;
  return out;
}

}  // namespace

TEST_CASE("cgroup plan: the OCI fields map to their cgroup v2 files", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({
    "memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912},
    "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
    "pids": {"limit": 64},
    "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
  })"));
  REQUIRE(plan.ok());
  const auto f = Files(*plan);
  CHECK(f.at("memory.max") == "268435456");
  CHECK(f.at("memory.low") == "134217728");
  CHECK(f.at("memory.swap.max") == "268435456");  // OCI's swap is memory + swap
  CHECK(f.at("cpu.weight") == "39");              // 1 + (1024 - 2) * 9999 / 262142
  CHECK(f.at("cpu.max") == "50000 100000");
  CHECK(f.at("cpuset.cpus") == "0");
  CHECK(f.at("cpuset.mems") == "0");
  CHECK(f.at("pids.max") == "64");
  CHECK(f.at("io.weight") == "default 4950");     // 1 + (500 - 10) * 9999 / 990
  CHECK(f.at("io.max") == "254:0 rbps=1048576");
  CHECK(f.at("hugetlb.2MB.max") == "0");
  CHECK(plan->ignored.empty());
}

TEST_CASE("cgroup plan: only the fields set are written, so an update touches nothing else", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({"memory": {"limit": 1048576}})"));
  REQUIRE(plan.ok());
  CHECK(plan->writes == std::vector<CgroupWrite>{{"memory.max", "1048576"}});
  auto empty = PlanCgroupWrites(Resources("{}"));
  REQUIRE(empty.ok());
  CHECK(empty->writes.empty());
}

TEST_CASE("cgroup plan: unlimited values are max", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({"memory": {"limit": -1, "swap": -1}, "cpu": {"quota": -1}, "pids": {"limit": 0}})"));
  REQUIRE(plan.ok());
  const auto f = Files(*plan);
  CHECK(f.at("memory.max") == "max");
  CHECK(f.at("memory.swap.max") == "max");
  CHECK(f.at("cpu.max") == "max 100000");
  CHECK(f.at("pids.max") == "max");
}

// containerd's CRI sends memory.swap = memory.limit (no swap) with every memory limit. The
// guest kernel has no swap accounting, so there is no memory.swap.max: UpdateContainer failed
// for every CRI resource update until a no-swap (or unlimited) write there was skippable.
TEST_CASE("cgroup apply: no swap asked of a kernel without swap accounting is not an error; swap asked is", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({"memory": {"limit": 209715200, "swap": 209715200}})"));
  REQUIRE(plan.ok());
  CHECK(plan->writes == std::vector<CgroupWrite>{{"memory.max", "209715200"}, {"memory.swap.max", "0", true}});
  // A directory standing in for a cgroup of such a kernel: memory.max, no memory.swap.max.
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("memory.max"), "max\n");
  const kata::guest::ContainerCgroup cgroup(dir.path());
  REQUIRE(cgroup.Apply(*plan).ok());
  CHECK(kata::testing::ReadFile(dir.Sub("memory.max")) == "209715200");
  CHECK(!std::filesystem::exists(dir.Sub("memory.swap.max")));

  auto unlimited = PlanCgroupWrites(Resources(R"({"memory": {"limit": -1, "swap": -1}})"));
  REQUIRE(unlimited.ok());
  CHECK(cgroup.Apply(*unlimited).ok());

  // Real swap asked for cannot be given: the update fails naming the file, and memory.max
  // gets its old value back.
  kata::testing::WriteFile(dir.Sub("memory.max"), "max\n");
  auto swap = PlanCgroupWrites(Resources(R"({"memory": {"limit": 209715200, "swap": 419430400}})"));
  REQUIRE(swap.ok());
  const absl::Status refused = cgroup.Apply(*swap);
  CHECK(!refused.ok());
  CHECK(std::string(refused.message()).find("memory.swap.max") != std::string::npos);
  // (Written in place, as cgroupfs takes writes: a regular file keeps the longer value's tail.)
  CHECK(kata::testing::ReadFile(dir.Sub("memory.max")).substr(0, 4) == "max7");
}

TEST_CASE("cgroup plan: the unified map is written last and may not touch the tree", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({"memory": {"limit": 1048576}, "unified": {"memory.high": "900000", "cpu.weight": "7"}})"));
  REQUIRE(plan.ok());
  REQUIRE(plan->writes.size() == 3);
  CHECK(plan->writes[0] == CgroupWrite{"memory.max", "1048576"});
  CHECK(plan->writes[1] == CgroupWrite{"cpu.weight", "7"});
  CHECK(plan->writes[2] == CgroupWrite{"memory.high", "900000"});
  for (const char* bad : {"cgroup.procs", "cgroup.subtree_control", "cgroup.kill", "../../etc/passwd", "memory", ".max", "memory."}) {
    auto refused = PlanCgroupWrites(Resources(std::string(R"({"unified": {")") + bad + R"(": "1"}})"));
    INFO(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(refused.status().message()).find(bad) != std::string::npos);
  }
}

TEST_CASE("cgroup plan: contradictions are refused by field", "[cgroup]") {
  auto below = PlanCgroupWrites(Resources(R"({"memory": {"limit": 2097152, "swap": 1048576}})"));
  REQUIRE_FALSE(below.ok());
  CHECK(std::string(below.status().message()).find("memory.swap") != std::string::npos);
  auto no_limit = PlanCgroupWrites(Resources(R"({"memory": {"swap": 1048576}})"));
  REQUIRE_FALSE(no_limit.ok());
  auto weight = PlanCgroupWrites(Resources(R"({"blockIO": {"weight": 5}})"));
  REQUIRE_FALSE(weight.ok());
  CHECK(std::string(weight.status().message()).find("blockIO.weight 5") != std::string::npos);
}

TEST_CASE("cgroup plan: docker's zeros mean unset, as runc reads them", "[cgroup]") {
  // moby sends these on every container (daemon/oci_linux.go); runc runs them.
  auto plan = PlanCgroupWrites(Resources(R"({"cpu": {"shares": 0}, "memory": {"limit": 0, "reservation": 0},
    "blockIO": {"weight": 0, "weightDevice": [{"major": 8, "minor": 0, "weight": 0}]}, "pids": {"limit": 0}})"));
  INFO(plan.status());
  REQUIRE(plan.ok());
  for (const auto& w : plan->writes) {
    INFO(w.file << " = " << w.value);
    CHECK((w.file == "pids.max" && w.value == "max"));
  }
}

TEST_CASE("cgroup plan: v1-only fields are reported as not applied", "[cgroup]") {
  auto plan = PlanCgroupWrites(Resources(R"({"memory": {"kernel": 1, "swappiness": 10}, "devices": [{"allow": false, "access": "rwm"}]})"));
  REQUIRE(plan.ok());
  CHECK(plan->writes.empty());
  // Devices are a BPF program (device_cgroup_test.cc), not files nor ignored.
  CHECK(plan->ignored == std::vector<std::string>{"linux.resources.memory.kernel", "linux.resources.memory.swappiness"});
}

TEST_CASE("cgroup stats: interface files become Kata's CgroupStats", "[cgroup]") {
  const std::map<std::string, std::string> files = {
      {"cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 70\n"},
      {"memory.current", "1048576\n"},
      {"memory.max", "max\n"},
      {"memory.peak", "2097152\n"},
      {"memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"},
      {"memory.swap.current", "0\n"},
      {"memory.swap.max", "4096\n"},
      {"memory.stat", "anon 4096\nfile 8192\nkernel 12288\nbroken line\n"},
      {"pids.current", "3\n"},
      {"pids.max", "64\n"},
  };
  const auto stats = kata::guest::CgroupStatsFromFiles([&](std::string_view f) -> std::optional<std::string> {
    auto it = files.find(std::string(f));
    if (it == files.end()) return std::nullopt;
    return it->second;
  });
  CHECK(stats.cpu_stats().cpu_usage().total_usage() == 2500000);
  CHECK(stats.cpu_stats().cpu_usage().usage_in_usermode() == 2000000);
  CHECK(stats.cpu_stats().cpu_usage().usage_in_kernelmode() == 500000);
  CHECK(stats.cpu_stats().throttling_data().periods() == 10);
  CHECK(stats.cpu_stats().throttling_data().throttled_periods() == 3);
  CHECK(stats.cpu_stats().throttling_data().throttled_time() == 70000);
  CHECK(stats.memory_stats().usage().usage() == 1048576);
  CHECK(stats.memory_stats().usage().limit() == UINT64_MAX);
  CHECK(stats.memory_stats().usage().max_usage() == 2097152);
  CHECK(stats.memory_stats().usage().failcnt() == 4);
  CHECK(stats.memory_stats().swap_usage().limit() == 4096);
  CHECK(stats.memory_stats().cache() == 8192);
  CHECK(stats.memory_stats().kernel_usage().usage() == 12288);
  CHECK(stats.memory_stats().stats().at("anon") == 4096);
  CHECK(stats.memory_stats().stats().count("broken") == 0);
  CHECK(stats.pids_stats().current() == 3);
  CHECK(stats.pids_stats().limit() == 64);
}

TEST_CASE("cgroup stats: a cgroup without controllers has CPU usage only", "[cgroup]") {
  const auto stats = kata::guest::CgroupStatsFromFiles([](std::string_view f) -> std::optional<std::string> {
    if (f == "cpu.stat") return std::string("usage_usec 7\nuser_usec 5\nsystem_usec 2\n");
    return std::nullopt;
  });
  CHECK(stats.cpu_stats().cpu_usage().total_usage() == 7000);
  CHECK_FALSE(stats.cpu_stats().has_throttling_data());
  CHECK_FALSE(stats.has_memory_stats());
  CHECK_FALSE(stats.has_pids_stats());
}
