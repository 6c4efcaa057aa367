#include "guest-agent/cgroup/cgroup_stats.h"

#include <cstdint>
#include <limits>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kata::guest {
namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// "key value" lines (cpu.stat, memory.stat, memory.events).
std::map<std::string, uint64_t> KeyValues(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    uint64_t v;
    if (absl::SimpleAtoi(kv.second, &v)) out[std::string(kv.first)] = v;
  }
  return out;
}

// A single number, or "max".
std::optional<uint64_t> Number(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const absl::string_view v = absl::StripAsciiWhitespace(*text);
  if (v == "max") return kNoLimit;
  uint64_t n;
  if (!absl::SimpleAtoi(v, &n)) return std::nullopt;
  return n;
}

uint64_t Get(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

agent::CgroupStats CgroupStatsFromFiles(const CgroupFileReader& read) {
  agent::CgroupStats stats;
  // cpu.stat exists in every cgroup v2 directory (usage), with throttling when cpu is enabled.
  if (auto text = read("cpu.stat")) {
    const auto cpu = KeyValues(*text);
    auto* usage = stats.mutable_cpu_stats()->mutable_cpu_usage();
    usage->set_total_usage(Get(cpu, "usage_usec") * 1000);
    usage->set_usage_in_usermode(Get(cpu, "user_usec") * 1000);
    usage->set_usage_in_kernelmode(Get(cpu, "system_usec") * 1000);
    if (cpu.count("nr_periods")) {
      auto* t = stats.mutable_cpu_stats()->mutable_throttling_data();
      t->set_periods(Get(cpu, "nr_periods"));
      t->set_throttled_periods(Get(cpu, "nr_throttled"));
      t->set_throttled_time(Get(cpu, "throttled_usec") * 1000);
    }
  }
  if (auto current = Number(read("memory.current"))) {
    auto* mem = stats.mutable_memory_stats();
    mem->set_use_hierarchy(true);  // v2 is always hierarchical
    auto* usage = mem->mutable_usage();
    usage->set_usage(*current);
    usage->set_limit(Number(read("memory.max")).value_or(kNoLimit));
    if (auto peak = Number(read("memory.peak"))) usage->set_max_usage(*peak);
    if (auto events = read("memory.events")) usage->set_failcnt(Get(KeyValues(*events), "max"));
    if (auto swap = Number(read("memory.swap.current"))) {
      mem->mutable_swap_usage()->set_usage(*swap);
      mem->mutable_swap_usage()->set_limit(Number(read("memory.swap.max")).value_or(kNoLimit));
      if (auto peak = Number(read("memory.swap.peak"))) mem->mutable_swap_usage()->set_max_usage(*peak);
    }
    if (auto text = read("memory.stat")) {
      const auto m = KeyValues(*text);
      mem->set_cache(Get(m, "file"));
      mem->mutable_kernel_usage()->set_usage(Get(m, "kernel"));
      for (const auto& [k, v] : m) (*mem->mutable_stats())[k] = v;
    }
  }
  if (auto current = Number(read("pids.current"))) {
    stats.mutable_pids_stats()->set_current(*current);
    stats.mutable_pids_stats()->set_limit(Number(read("pids.max")).value_or(kNoLimit));
  }
  return stats;
}

}  // namespace kata::guest
