// The agent's view of its kernel: a differential test against the running kernel's own
// configuration (/proc/config.gz), and the naming of what a kernel lacks.

#include <algorithm>

#include "absl/strings/str_split.h"
#include "guest-agent/init/kernel_probe.h"
#include "libkata/testing/test_support.h"

namespace {

// Controllers bound to a cgroup v1 hierarchy (a hybrid host) are not offered on cgroup2.
bool BoundToV1(std::string_view controller) {
  const std::string v1_name = controller == "io" ? "blkio" : std::string(controller);
  for (absl::string_view line : absl::StrSplit(kata::testing::ReadFile("/proc/cgroups"), '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() == 4 && f[0] == v1_name) return f[1] != "0";
  }
  return false;
}

bool Observed(const kata::kernel::GuestObservation& seen, const kata::kernel::Requirement& r) {
  using kata::kernel::ProbeKind;
  switch (r.probe) {
    case ProbeKind::kFilesystem: return seen.filesystems.contains(r.what);
    case ProbeKind::kCgroupController: return seen.cgroup_controllers.contains(r.what);
    case ProbeKind::kNamespace: return seen.namespaces.contains(r.what);
    case ProbeKind::kPath: return seen.existing_paths.contains(r.what);
    case ProbeKind::kCgroupBpf: return seen.cgroup_bpf;
    case ProbeKind::kNone: break;
  }
  return true;
}

}  // namespace

TEST_CASE("kernel probe: each probe agrees with the running kernel's own .config", "[kernel]") {
  const std::string config_text = kata::testing::Capture("zcat /proc/config.gz 2>/dev/null");
  if (config_text.empty()) KATA_SKIP("the running kernel has no /proc/config.gz (CONFIG_IKCONFIG_PROC)");
  const auto config = kata::kernel::ParseKernelConfig(config_text);
  const auto seen = kata::guest::ObserveKernel();
  int compared = 0;
  for (const auto& r : kata::kernel::GuestKernelRequirements()) {
    if (r.probe == kata::kernel::ProbeKind::kNone) continue;
    if (r.probe == kata::kernel::ProbeKind::kCgroupController && BoundToV1(r.what)) continue;
    auto it = config.find(r.option);
    const std::string value = it == config.end() ? "n" : it->second;
    if (value == "m") continue;  // loaded or not: the probe says which, the config cannot
    INFO(r.option << "=" << value << ", probe " << r.what);
    CHECK(Observed(seen, r) == (value == "y"));
    ++compared;
  }
  CHECK(compared > 20);
}

TEST_CASE("kernel probe: what a kernel lacks is named by option, required first", "[kernel]") {
  kata::testing::TempDir proc;
  // /proc/filesystems as the kernel writes it, without erofs; no time namespace.
  kata::testing::WriteFile(proc.Sub("filesystems"), "nodev\tsysfs\nnodev\ttmpfs\nnodev\tdevtmpfs\n\text4\nnodev\toverlay\n"
                                                    "nodev\t9p\nnodev\tmqueue\nnodev\tcgroup2\nnodev\tbpf\n");
  kata::testing::MakeDirs(proc.Sub("self/ns"));
  for (const char* ns : {"uts", "ipc", "pid", "net", "user"}) kata::testing::WriteFile(proc.Sub(std::string("self/ns/") + ns), "");
  for (const char* p : {"net/unix", "net/if_inet6", "sysrq-trigger", "sys/kernel/seccomp/actions_avail"}) {
    kata::testing::MakeDirs(proc.Sub(std::string(p).substr(0, std::string(p).rfind('/') + 1)));
    kata::testing::WriteFile(proc.Sub(p), "");
  }
  kata::testing::MakeDirs(proc.Sub("sys/net/ipv4"));
  kata::testing::MakeDirs(proc.Sub("sysvipc"));
  kata::guest::KernelProbeRoots roots;
  roots.proc = proc.path();
  roots.cgroup2_candidates = {proc.Sub("no-cgroup")};
  const auto lacks = kata::guest::KernelLacks(roots);
  REQUIRE_FALSE(lacks.empty());
  CHECK(lacks[0] == "CONFIG_EROFS_FS (EROFS image layers)");
  // No cgroup2 mount: every controller and the BPF query are missing, required ones.
  CHECK(std::find(lacks.begin(), lacks.end(), "CONFIG_MEMCG (linux.resources.memory and memory stats)") != lacks.end());
  CHECK(std::find(lacks.begin(), lacks.end(), "CONFIG_TIME_NS (time namespaces; optional)") != lacks.end());
  const auto first_optional = std::find_if(lacks.begin(), lacks.end(), [](const std::string& l) { return l.find("; optional)") != std::string::npos; });
  for (auto it = first_optional; it != lacks.end(); ++it) CHECK(it->find("; optional)") != std::string::npos);
  for (const auto& l : lacks) CHECK(l.find("CONFIG_9P_FS") == std::string::npos);
}
