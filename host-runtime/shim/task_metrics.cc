#include "host-runtime/shim/task_metrics.h"

#include "libkata/base/str_cat.h"
#include "libkata/oci/spec.h"

namespace kata::shim {

namespace metrics = io::containerd::cgroups::v2;

metrics::Metrics MetricsFromCgroupStats(const agent::CgroupStats& stats) {
  metrics::Metrics m;
  if (stats.has_pids_stats()) {
    m.mutable_pids()->set_current(stats.pids_stats().current());
    m.mutable_pids()->set_limit(stats.pids_stats().limit());
  }
  if (stats.has_cpu_stats()) {
    const auto& usage = stats.cpu_stats().cpu_usage();
    const auto& throttling = stats.cpu_stats().throttling_data();
    auto* cpu = m.mutable_cpu();
    cpu->set_usage_usec(usage.total_usage() / 1000);
    cpu->set_user_usec(usage.usage_in_usermode() / 1000);
    cpu->set_system_usec(usage.usage_in_kernelmode() / 1000);
    cpu->set_nr_periods(throttling.periods());
    cpu->set_nr_throttled(throttling.throttled_periods());
    cpu->set_throttled_usec(throttling.throttled_time() / 1000);
  }
  if (stats.has_memory_stats()) {
    const auto& in = stats.memory_stats();
    auto* mem = m.mutable_memory();
    mem->set_usage(in.usage().usage());
    mem->set_usage_limit(in.usage().limit());
    mem->set_max_usage(in.usage().max_usage());
    mem->set_swap_usage(in.swap_usage().usage());
    mem->set_swap_limit(in.swap_usage().limit());
    mem->set_swap_max_usage(in.swap_usage().max_usage());
    // memory.stat's keys are MemoryStat's field names: fill by name, whatever the kernel has.
    const auto* descriptor = mem->GetDescriptor();
    const auto* reflection = mem->GetReflection();
    for (const auto& [key, value] : in.stats()) {
      const auto* field = descriptor->FindFieldByName(key);
      if (field != nullptr && field->number() <= 31) reflection->SetUInt64(mem, field, value);
    }
  }
  return m;
}

google::protobuf::Any MetricsAny(const agent::CgroupStats& stats) {
  google::protobuf::Any any;
  any.set_type_url(kCgroupsV2MetricsTypeUrl);
  any.set_value(MetricsFromCgroupStats(stats).SerializeAsString());
  return any;
}

absl::StatusOr<oci::LinuxResources> LinuxResourcesFromAny(const google::protobuf::Any& any) {
  const std::string& url = any.type_url();
  constexpr std::string_view kSuffix = "/LinuxResources";
  if (url.size() < kSuffix.size() || url.compare(url.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0 ||
      url.find("runtime-spec") == std::string::npos) {
    return absl::InvalidArgumentError(StrCat("update resources of type \"", url, "\": want the OCI LinuxResources"));
  }
  return oci::ParseLinuxResourcesJson(any.value(), url);
}

}  // namespace kata::shim
