#include "guest-agent/seccomp/seccomp_profile.h"

#include <linux/seccomp.h>

#include <cerrno>
#include <cctype>
#include <map>
#include <optional>

#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr uint32_t kMaxErrno = 4095;

absl::Status Invalid(const std::string& field, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(field, ": ", why));
}

// "SCMP_ACT_ERRNO" + errnoRet -> SCMP_ACT_*; `errno_ret` applies to ERRNO and TRACE.
absl::StatusOr<uint32_t> Action(const std::string& field, const std::string& name, std::optional<uint32_t> errno_ret) {
  if (errno_ret && *errno_ret > kMaxErrno) return Invalid(field, StrCat("errnoRet ", *errno_ret, " is above ", kMaxErrno));
  const uint32_t ret = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_NOTIFY") {
    return Invalid(field, "SCMP_ACT_NOTIFY is not supported (no seccomp agent listens in the guest)");
  }
  return Invalid(field, StrCat("unknown action \"", name.substr(0, 64), "\""));
}

absl::StatusOr<scmp_compare> Operator(const std::string& field, const std::string& op) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = kOps.find(op);
  if (it == kOps.end()) return Invalid(field, StrCat("unknown operator \"", op.substr(0, 64), "\""));
  return it->second;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64".
absl::StatusOr<uint32_t> Architecture(const std::string& field, const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (name.starts_with(kPrefix) && name.size() < 64) {
    std::string lower = name.substr(kPrefix.size());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    token = seccomp_arch_resolve_name(lower.c_str());
  }
  if (token == 0) return Invalid(field, StrCat("unknown architecture \"", name.substr(0, 64), "\""));
  return token;
}

absl::StatusOr<unsigned int> Flag(const std::string& field, const std::string& flag) {
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (flag == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  // Only changes how a NOTIFY listener waits; without NOTIFY there is nothing to change.
  if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return 0u;
  return Invalid(field, StrCat("unknown flag \"", flag.substr(0, 64), "\""));
}

}  // namespace

bool WantsSeccomp(const oci::Linux& linux) {
  if (!linux.has_seccomp()) return false;
  const oci::LinuxSeccomp& s = linux.seccomp();
  return !s.default_action().empty() || !s.syscalls().empty();
}

absl::StatusOr<SeccompProfile> BuildSeccompProfile(const oci::LinuxSeccomp& seccomp) {
  const std::string base = "linux.seccomp";
  SeccompProfile p;
  if (seccomp.default_action().empty()) return Invalid(base + ".defaultAction", "missing");
  auto def = Action(base + ".defaultAction", seccomp.default_action(),
                    seccomp.has_default_errno_ret() ? std::optional<uint32_t>(seccomp.default_errno_ret()) : std::nullopt);
  if (!def.ok()) return def.status();
  p.default_action = *def;
  const uint32_t native = seccomp_arch_native();
  for (int i = 0; i < seccomp.architectures_size(); ++i) {
    auto arch = Architecture(StrCat(base, ".architectures[", i, "]"), seccomp.architectures(i));
    if (!arch.ok()) return arch.status();
    bool seen = *arch == native;
    for (uint32_t a : p.architectures) seen = seen || a == *arch;
    if (!seen) p.architectures.push_back(*arch);
  }
  for (int i = 0; i < seccomp.flags_size(); ++i) {
    auto flag = Flag(StrCat(base, ".flags[", i, "]"), seccomp.flags(i));
    if (!flag.ok()) return flag.status();
    p.load_flags |= *flag;
  }
  for (int i = 0; i < seccomp.syscalls_size(); ++i) {
    const oci::LinuxSyscall& sc = seccomp.syscalls(i);
    const std::string field = StrCat(base, ".syscalls[", i, "]");
    auto action = Action(field + ".action", sc.action(),
                         sc.has_errno_ret() ? std::optional<uint32_t>(sc.errno_ret()) : std::nullopt);
    if (!action.ok()) return action.status();
    // One rule per condition when two name the same argument (they could never both hold,
    // so runc ORs them); otherwise one rule with all of them (AND).
    std::vector<scmp_arg_cmp> conditions;
    bool same_index = false;
    for (int a = 0; a < sc.args_size(); ++a) {
      const oci::LinuxSeccompArg& arg = sc.args(a);
      const std::string arg_field = StrCat(field, ".args[", a, "]");
      if (arg.index() > 5) return Invalid(arg_field + ".index", StrCat(arg.index(), " is above 5"));
      auto op = Operator(arg_field + ".op", arg.op());
      if (!op.ok()) return op.status();
      for (const scmp_arg_cmp& c : conditions) same_index = same_index || c.arg == arg.index();
      conditions.push_back(scmp_arg_cmp{arg.index(), *op, arg.value(), arg.value_two()});
    }
    if (sc.names().empty()) return Invalid(field + ".names", "empty");
    if (*action == p.default_action) continue;  // nothing to add: libseccomp refuses it, runc drops it
    for (const std::string& name : sc.names()) {
      const int nr = name.size() < 64 ? seccomp_syscall_resolve_name(name.c_str()) : __NR_SCMP_ERROR;
      if (nr == __NR_SCMP_ERROR) {
        p.skipped_names.push_back(name.substr(0, 64));
        continue;
      }
      if (same_index) {
        for (const scmp_arg_cmp& c : conditions) p.rules.push_back(SeccompRule{nr, name, *action, {c}});
      } else {
        p.rules.push_back(SeccompRule{nr, name, *action, conditions});
      }
    }
  }
  const uint32_t d = p.default_action;
  p.enosys_stub = d != SCMP_ACT_ALLOW && d != SCMP_ACT_LOG && (d & 0xffff0000u) != SCMP_ACT_TRACE(0) &&
                  d != SCMP_ACT_ERRNO(ENOSYS);
  return p;
}

}  // namespace kata::guest
