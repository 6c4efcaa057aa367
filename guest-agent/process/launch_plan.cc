#include "guest-agent/process/launch_plan.h"

#include <sys/capability.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void Terminate(std::vector<std::string>& storage, std::vector<char*>& view) {
  view.clear();
  for (auto& s : storage) view.push_back(s.data());
  view.push_back(nullptr);
}

absl::StatusOr<uint64_t> CapSet(const google::protobuf::RepeatedPtrField<std::string>& names,
                                std::string_view field) {
  uint64_t set = 0;
  for (const std::string& n : names) {
    auto cap = CapabilityNumber(n);
    if (!cap.ok()) return absl::InvalidArgumentError(StrCat("process.capabilities.", field, ": ", ToStd(cap.status().message())));
    set |= uint64_t{1} << *cap;
  }
  return set;
}

}  // namespace

absl::StatusOr<int> CapabilityNumber(const std::string& name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (!lower.starts_with("cap_")) lower = "cap_" + lower;
  cap_value_t value;
  if (cap_from_name(lower.c_str(), &value) != 0 || value < 0 || value > 63) {
    return absl::InvalidArgumentError(StrCat("unknown capability \"", name, "\""));
  }
  return static_cast<int>(value);
}

absl::StatusOr<int> RlimitResource(const std::string& name) {
  static const std::pair<const char*, int> kTable[] = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (const auto& [n, r] : kTable) {
    if (name == n) return r;
  }
  return absl::InvalidArgumentError(StrCat("unknown rlimit \"", name, "\""));
}

absl::Status BuildExecPlan(const oci::Process& process, ExecPlan& plan) {
  if (process.args_size() == 0 || process.args(0).empty()) {
    return absl::InvalidArgumentError("process.args: required");
  }
  for (const auto& a : process.args()) {
    if (a.find('\0') != std::string::npos) return absl::InvalidArgumentError("process.args: holds a NUL byte");
  }
  plan.argv_storage.assign(process.args().begin(), process.args().end());
  plan.env_storage.assign(process.env().begin(), process.env().end());
  std::string path_var = kDefaultPath;
  for (const auto& e : plan.env_storage) {
    if (e.find('\0') != std::string::npos) return absl::InvalidArgumentError("process.env: holds a NUL byte");
    if (e.starts_with("PATH=")) path_var = e.substr(5);
  }
  // execvp's search, decided here: a name with a slash is used as it is.
  const std::string& exe = plan.argv_storage.front();
  plan.candidates_storage.clear();
  if (exe.find('/') != std::string::npos) {
    plan.candidates_storage.push_back(exe);
  } else {
    for (absl::string_view dir : absl::StrSplit(path_var, ':', absl::SkipEmpty())) {
      plan.candidates_storage.push_back(StrCat(ToStd(dir), "/", exe));
    }
  }
  Terminate(plan.argv_storage, plan.argv);
  Terminate(plan.env_storage, plan.envp);
  Terminate(plan.candidates_storage, plan.candidates);

  plan.cwd = process.cwd().empty() ? "/" : process.cwd();
  if (plan.cwd.front() != '/') return absl::InvalidArgumentError(StrCat("process.cwd \"", plan.cwd, "\" is not absolute"));
  plan.uid = process.user().uid();
  plan.gid = process.user().gid();
  plan.groups.assign(process.user().additional_gids().begin(), process.user().additional_gids().end());
  plan.rlimits.clear();
  for (const auto& r : process.rlimits()) {
    ASSIGN_OR_RETURN(int resource, RlimitResource(r.type()));
    plan.rlimits.push_back({resource, rlimit{static_cast<rlim_t>(r.soft()), static_cast<rlim_t>(r.hard())}});
  }
  plan.no_new_privileges = process.no_new_privileges();
  plan.terminal = process.terminal();
  const auto& c = process.capabilities();
  ASSIGN_OR_RETURN(plan.caps.bounding, CapSet(c.bounding(), "bounding"));
  ASSIGN_OR_RETURN(plan.caps.effective, CapSet(c.effective(), "effective"));
  ASSIGN_OR_RETURN(plan.caps.permitted, CapSet(c.permitted(), "permitted"));
  ASSIGN_OR_RETURN(plan.caps.inheritable, CapSet(c.inheritable(), "inheritable"));
  ASSIGN_OR_RETURN(plan.caps.ambient, CapSet(c.ambient(), "ambient"));
  plan.set_oom_score_adj = process.has_oom_score_adj();
  plan.oom_score_adj = process.oom_score_adj();
  return absl::OkStatus();
}

}  // namespace kata::guest
