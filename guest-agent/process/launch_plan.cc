#include "guest-agent/process/launch_plan.h"

#include <sys/capability.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("container");
constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void Terminate(std::vector<std::string>& storage, std::vector<char*>& view) {
  view.clear();
  for (auto& s : storage) view.push_back(s.data());
  view.push_back(nullptr);
}

uint64_t CapSet(const google::protobuf::RepeatedPtrField<std::string>& names,
                                std::string_view field) {
  uint64_t set = 0;
  for (const std::string& n : names) {
    auto cap = CapabilityNumber(n);
    if (!cap.ok()) {
      // runc warns and goes on: a spec made for a newer kernel names capabilities this one lacks.
      kLog.Warn("unknown capability ignored", {{"field", StrCat("process.capabilities.", field)}, {"capability", n}});
      continue;
    }
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

namespace {
constexpr std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};
}  // namespace

absl::StatusOr<int> RlimitResource(const std::string& name) {
  for (const auto& [n, r] : kRlimits) {
    if (name == n) return r;
  }
  return absl::InvalidArgumentError(StrCat("unknown rlimit \"", name, "\""));
}

std::string RlimitName(int resource) {
  for (const auto& [n, r] : kRlimits) {
    if (r == resource) return n;
  }
  return StrCat("rlimit ", resource);
}

std::string HomeFromPasswd(const std::string& passwd, uid_t uid) {
  for (absl::string_view line : absl::StrSplit(passwd, '\n')) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    if (f.size() < 7) continue;
    uint32_t id;
    if (absl::SimpleAtoi(f[2], &id) && id == uid) return std::string(f[5]);
  }
  return "";
}

absl::Status BuildExecPlan(const oci::Process& process, ExecPlan& plan, const std::string& home) {
  if (process.args_size() == 0 || process.args(0).empty()) {
    return absl::InvalidArgumentError("process.args: required");
  }
  for (const auto& a : process.args()) {
    if (a.find('\0') != std::string::npos) return absl::InvalidArgumentError("process.args: holds a NUL byte");
  }
  plan.argv_storage.assign(process.args().begin(), process.args().end());
  plan.env_storage.assign(process.env().begin(), process.env().end());
  std::string path_var = kDefaultPath;
  bool has_home = false;
  for (size_t i = 0; i < plan.env_storage.size(); ++i) {
    const std::string& e = plan.env_storage[i];
    if (e.find('\0') != std::string::npos) return absl::InvalidArgumentError(StrCat("process.env[", i, "]: holds a NUL byte"));
    if (e.find('=') == std::string::npos) return absl::InvalidArgumentError(StrCat("process.env[", i, "]: \"", e, "\" is not NAME=VALUE"));
    if (e.starts_with("PATH=")) path_var = e.substr(5);
    if (e.starts_with("HOME=")) has_home = true;
  }
  if (!has_home) plan.env_storage.push_back(StrCat("HOME=", home.empty() ? "/" : home));
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
  plan.umask = process.user().has_umask() ? static_cast<mode_t>(process.user().umask() & 07777) : 022;
  plan.rlimits.clear();
  for (const auto& r : process.rlimits()) {
    ASSIGN_OR_RETURN(int resource, RlimitResource(r.type()));
    plan.rlimits.push_back({resource, rlimit{static_cast<rlim_t>(r.soft()), static_cast<rlim_t>(r.hard())}});
  }
  plan.no_new_privileges = process.no_new_privileges();
  plan.terminal = process.terminal();
  if (process.has_console_size()) {
    const auto& box = process.console_size();
    if (box.height() > 0xffff || box.width() > 0xffff) {
      return absl::InvalidArgumentError("process.consoleSize: larger than a terminal's 65535 rows or columns");
    }
    plan.console_rows = static_cast<uint16_t>(box.height());
    plan.console_columns = static_cast<uint16_t>(box.width());
  }
  const auto& c = process.capabilities();
  plan.caps.bounding = CapSet(c.bounding(), "bounding");
  plan.caps.effective = CapSet(c.effective(), "effective");
  plan.caps.permitted = CapSet(c.permitted(), "permitted");
  plan.caps.inheritable = CapSet(c.inheritable(), "inheritable");
  plan.caps.ambient = CapSet(c.ambient(), "ambient");
  plan.set_oom_score_adj = process.has_oom_score_adj();
  plan.oom_score_adj = process.oom_score_adj();
  return absl::OkStatus();
}

}  // namespace kata::guest
