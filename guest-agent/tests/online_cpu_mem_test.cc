// OnlineCPUMem's walk over sysfs. The real hot-plug runs in a guest (the CRI test resizes a
// pod's VM); here a directory laid out as /sys/devices/system is, since the host's own CPUs
// and memory must not be taken offline by a test.

#include <thread>

#include "guest-agent/sandbox/online_cpu_mem.h"
#include "libkata/testing/test_support.h"

using kata::guest::OfflineOnlineCpus;
using kata::guest::OnlineCpuMem;
using kata::guest::OnlineOfflineCpus;
using kata::guest::OnlineOfflineMemory;
using kata::testing::MakeDirs;
using kata::testing::ReadFile;
using kata::testing::TempDir;

namespace {

// WriteFile into directories made as needed, as sysfs has them.
void Put(const std::string& path, const std::string& text) {
  MakeDirs(path.substr(0, path.rfind('/')));
  kata::testing::WriteFile(path, text);
}

// cpu0 (no online file: never offline), cpu1 online, cpu2 and cpu3 offline; cpufreq is no
// CPU; memory0 online, memory1 and memory2 offline.
void Layout(const TempDir& sys) {
  MakeDirs(sys.Sub("cpu/cpu0"));
  Put(sys.Sub("cpu/possible"), "0-7\n");
  Put(sys.Sub("cpu/cpu1/online"), "1\n");
  Put(sys.Sub("cpu/cpu2/online"), "0\n");
  Put(sys.Sub("cpu/cpu3/online"), "0\n");
  Put(sys.Sub("cpu/cpufreq/online"), "0\n");
  Put(sys.Sub("memory/memory0/state"), "online\n");
  Put(sys.Sub("memory/memory1/state"), "offline\n");
  Put(sys.Sub("memory/memory2/state"), "offline\n");
  Put(sys.Sub("memory/block_size_bytes"), "8000000\n");
}

}  // namespace

TEST_CASE("online cpu mem: offline CPUs up to the count asked, every offline memory block", "[online]") {
  TempDir sys;
  Layout(sys);
  auto cpus = OnlineOfflineCpus(sys.path(), 1);
  REQUIRE(cpus.ok());
  CHECK(*cpus == 1);
  CHECK(ReadFile(sys.Sub("cpu/cpu2/online")) == "1");  // the lowest offline one
  CHECK(ReadFile(sys.Sub("cpu/cpu3/online")) == "0\n");
  cpus = OnlineOfflineCpus(sys.path(), 5);
  REQUIRE(cpus.ok());
  CHECK(*cpus == 1);  // the other one; cpu1 was online, cpufreq is no CPU
  CHECK(ReadFile(sys.Sub("cpu/cpufreq/online")) == "0\n");
  auto blocks = OnlineOfflineMemory(sys.path());
  REQUIRE(blocks.ok());
  CHECK(*blocks == 2);
  CHECK(ReadFile(sys.Sub("memory/memory1/state")) == "online");
  CHECK(ReadFile(sys.Sub("memory/memory0/state")) == "online\n");  // untouched
}

TEST_CASE("online cpu mem: a request waits for CPUs still being registered, within its timeout", "[online]") {
  TempDir sys;
  Layout(sys);
  kata::agent::OnlineCPUMemRequest req;
  req.set_nb_cpus(3);
  req.set_cpu_only(true);
  // Two are there; the third comes a little later, as an ACPI hot-plug registers it.
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Put(sys.Sub("cpu/cpu4/online"), "0\n");
  });
  auto done = OnlineCpuMem(req, sys.path(), absl::Seconds(5));
  late.join();
  REQUIRE(done.ok());
  CHECK(done->cpus == 3);
  CHECK(done->memory_blocks == 0);  // cpu_only
  CHECK(ReadFile(sys.Sub("memory/memory1/state")) == "offline\n");
  CHECK(ReadFile(sys.Sub("cpu/cpu4/online")) == "1");

  // One more than is offline: the deadline names how many came.
  req.set_nb_cpus(1);
  req.set_cpu_only(false);
  auto missing = OnlineCpuMem(req, sys.path(), absl::Milliseconds(100));
  CHECK(missing.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(missing.status().message()) == "nb_cpus 1: 0 CPUs came online within 100ms");
  CHECK(ReadFile(sys.Sub("memory/memory1/state")) == "offline\n");  // nothing after a failure

  // More than the guest could have, refused at once; a bad possible list is an error too.
  req.set_nb_cpus(8);
  CHECK(OnlineCpuMem(req, sys.path(), absl::Seconds(5)).status().code() == absl::StatusCode::kInvalidArgument);
  Put(sys.Sub("cpu/possible"), "0-x\n");
  req.set_nb_cpus(1);
  CHECK(OnlineCpuMem(req, sys.path(), absl::Seconds(5)).status().code() == absl::StatusCode::kInvalidArgument);

  // Memory only.
  req.set_nb_cpus(0);
  auto memory = OnlineCpuMem(req, sys.path(), absl::Seconds(5));
  REQUIRE(memory.ok());
  CHECK(memory->memory_blocks == 2);
}

TEST_CASE("online cpu mem: CPUs taken offline, highest first, cpu0 never", "[online]") {
  TempDir sys;
  Layout(sys);
  Put(sys.Sub("cpu/cpu10/online"), "1\n");  // numbers, not names, order them: 10 before 3
  Put(sys.Sub("cpu/cpu3/online"), "1\n");
  auto offlined = OfflineOnlineCpus(sys.path(), 2);
  REQUIRE(offlined.ok());
  CHECK(*offlined == 2);
  CHECK(ReadFile(sys.Sub("cpu/cpu10/online")) == "0");
  CHECK(ReadFile(sys.Sub("cpu/cpu3/online")) == "0");
  CHECK(ReadFile(sys.Sub("cpu/cpu1/online")) == "1\n");

  kata::agent::OnlineCPUMemRequest req;
  req.set_cpu_only(true);
  req.set_offline_cpus(2);  // only cpu1 is left to go
  auto short_of = OnlineCpuMem(req, sys.path(), absl::Seconds(1));
  CHECK(short_of.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(short_of.status().message()) == "offline_cpus 2: only 1 CPUs could go offline");
  CHECK(ReadFile(sys.Sub("cpu/cpu1/online")) == "0");

  req.set_nb_cpus(1);  // both ways at once
  CHECK(OnlineCpuMem(req, sys.path(), absl::Seconds(1)).status().code() == absl::StatusCode::kInvalidArgument);
}
