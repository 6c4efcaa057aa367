#pragma once

// What the VM benchmarks share: medians, one hot-plug round trip as the guest sees it, a
// process's PSS, and the `kata-bench: name=value` lines bench/run-all reads.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "host-runtime/vm/sandbox_vm.h"
#include "libkata/agent_api/agent_api.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::bench {

struct Stats {
  std::vector<double> ms;
  double Median() const {
    if (ms.empty()) return -1;
    auto s = ms;
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }
  std::string Summary() const {
    if (ms.empty()) return "no runs";
    auto s = ms;
    std::sort(s.begin(), s.end());
    return StrCat("median ", static_cast<int64_t>(Median()), " ms (min ", static_cast<int64_t>(s.front()), ", max ",
                  static_cast<int64_t>(s.back()), ", ", s.size(), " runs)");
  }
};

// The VM benches' command line: --image DIR (made absolute) [--runs N]. False (after printing
// the usage) when it is not that.
inline bool ParseImageAndRuns(int argc, char** argv, const char* bench, std::string& image, int& runs) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--image") {
      image = argv[i + 1];
    } else if (a == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else {
      image.clear();
      break;
    }
  }
  if (image.empty() || runs < 1) {
    std::fprintf(stderr, "usage: %s --image DIR [--runs N]\n", bench);
    return false;
  }
  image = std::filesystem::absolute(image).lexically_normal().string();
  return true;
}

// One machine-readable figure for bench/run-all.
inline void Report(const std::string& name, double value) { std::printf("kata-bench: %s=%.1f\n", name.c_str(), value); }

// Whether the agent has `blocks`: a CreateContainer that waits for each by PCI path (at
// /dev/probeN) and then fails on its rootfs, which the probe never made (FailedPrecondition,
// the expected answer, is OK here).
inline absl::Status AgentHasDevices(runtime::SandboxVm& vm, const std::vector<runtime::AttachedBlock>& blocks) {
  agent::CreateContainerRequest req;
  req.set_container_id("probe");
  req.mutable_oci()->set_oci_version("1.1.0");
  req.mutable_oci()->mutable_root()->set_path("/run/kata-containers/probe/rootfs");  // allowed, absent
  req.mutable_oci()->mutable_process()->add_args("true");
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto* dev = req.add_devices();
    dev->set_type("blk");
    dev->set_id(blocks[i].pci_path);
    dev->set_container_path(StrCat("/dev/probe", i));
    auto* spec_dev = req.mutable_oci()->mutable_linux()->add_devices();
    spec_dev->set_path(StrCat("/dev/probe", i));
    spec_dev->set_type("b");
    spec_dev->set_minor(static_cast<int64_t>(i));  // "host" numbers, distinct: the batch refuses two alike
  }
  google::protobuf::Empty e;
  const absl::Status s = agent_api::AgentStub(vm.agent_client()).CreateContainer(req, &e, absl::Seconds(60));
  if (s.code() != absl::StatusCode::kFailedPrecondition) return absl::InternalError(StrCat("probe: ", s.message()));
  return absl::OkStatus();
}

// device_add of `disk` (raw, read-only) until the agent has it (AgentHasDevices), then
// detached. The time to the agent's answer, or why it failed.
inline absl::StatusOr<absl::Duration> HotplugRoundTrip(runtime::SandboxVm& vm, const std::string& disk) {
  const absl::Time start = absl::Now();
  auto block = vm.block_devices().Attach({disk, runtime::BlockFormat::kRaw, true, "threads", false, ""});
  if (!block.ok()) return block.status();
  const absl::Status s = AgentHasDevices(vm, {*block});
  const absl::Duration seen = absl::Now() - start;
  const absl::Status detached = vm.block_devices().Detach(block->device_id);
  if (!s.ok()) return s;
  if (!detached.ok()) return detached;
  return seen;
}

// A process's proportional set size in KiB (smaps_rollup), or -1.
inline int64_t PssKib(int pid) {
  auto text = ReadFileToString(StrCat("/proc/", pid, "/smaps_rollup"), 1 << 16);
  if (!text.ok()) return -1;
  const size_t at = text->find("\nPss:");
  return at == std::string::npos ? -1 : std::atoll(text->c_str() + at + 5);
}

// Where a QEMU process's PSS is (KiB, from /proc/<pid>/smaps): the guest's RAM (the mapping of
// exactly `guest_kib`: what the guest touched), TCG's translated code (the rwx mapping), and
// the rest (QEMU's own binary, libraries, heap, the kernel and initrd files it read).
struct QemuPss {
  int64_t guest_ram = 0, code_buffer = 0, other = 0;
};
inline QemuPss QemuPssBreakdown(int pid, int64_t guest_kib) {
  QemuPss out;
  auto text = ReadFileToString(StrCat("/proc/", pid, "/smaps"), 64u << 20);
  if (!text.ok()) return {-1, -1, -1};
  int64_t* current = &out.other;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    const std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    unsigned long long lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &lo, &hi, perms) == 3) {  // a mapping's header
      const int64_t kib = static_cast<int64_t>((hi - lo) / 1024);
      current = kib == guest_kib ? &out.guest_ram : std::string(perms) == "rwxp" ? &out.code_buffer : &out.other;
    } else if (line.rfind("Pss:", 0) == 0) {
      *current += std::atoll(line.c_str() + 4);
    }
  }
  return out;
}

}  // namespace kata::bench
