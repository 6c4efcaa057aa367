#include "libkata/oci/validate.h"

#include <set>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/status_macros.h"

namespace kata::oci {
namespace {

absl::Status Bad(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(path, ": ", what));
}

std::string Quoted(std::string_view s) { return StrCat("\"", s, "\""); }

bool IsAbsolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

absl::Status CheckAbsolute(std::string_view path, std::string_view value) {
  if (value.empty()) return Bad(path, "required");
  if (HasNul(value)) return Bad(path, "contains a NUL byte");
  if (!IsAbsolute(value)) return Bad(path, StrCat(Quoted(value), " is not an absolute path"));
  return absl::OkStatus();
}

absl::Status ValidateProcess(const Process& p) {
  if (p.args_size() == 0 && p.command_line().empty()) {
    return Bad("process.args", "required when process is given");
  }
  for (int i = 0; i < p.args_size(); ++i) {
    if (HasNul(p.args(i))) return Bad(StrCat("process.args[", i, "]"), "contains a NUL byte");
  }
  if (!p.cwd().empty()) RETURN_IF_ERROR(CheckAbsolute("process.cwd", p.cwd()));
  for (int i = 0; i < p.env_size(); ++i) {
    const std::string& e = p.env(i);
    if (e.empty() || e.front() == '=' || HasNul(e)) {
      return Bad(StrCat("process.env[", i, "]"), StrCat(Quoted(e), " is not NAME=VALUE"));
    }
  }
  std::set<std::string> seen_rlimits;
  for (int i = 0; i < p.rlimits_size(); ++i) {
    const auto& r = p.rlimits(i);
    const std::string path = StrCat("process.rlimits[", i, "].type");
    if (!absl::StartsWith(r.type(), "RLIMIT_")) {
      return Bad(path, StrCat(Quoted(r.type()), " is not an RLIMIT_* name"));
    }
    if (!seen_rlimits.insert(r.type()).second) {
      return Bad(path, StrCat(Quoted(r.type()), " is given twice"));
    }
    if (r.soft() > r.hard()) {
      return Bad(StrCat("process.rlimits[", i, "]"), "soft limit is above the hard limit");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMounts(const Spec& spec) {
  for (int i = 0; i < spec.mounts_size(); ++i) {
    const Mount& m = spec.mounts(i);
    RETURN_IF_ERROR(CheckAbsolute(StrCat("mounts[", i, "].destination"), m.destination()));
  }
  return absl::OkStatus();
}

absl::Status ValidateHooks(const Hooks& hooks) {
  const std::pair<std::string_view, const google::protobuf::RepeatedPtrField<Hook>*> lists[] = {
      {"prestart", &hooks.prestart()},
      {"createRuntime", &hooks.create_runtime()},
      {"createContainer", &hooks.create_container()},
      {"startContainer", &hooks.start_container()},
      {"poststart", &hooks.poststart()},
      {"poststop", &hooks.poststop()},
  };
  for (const auto& [name, list] : lists) {
    for (int i = 0; i < list->size(); ++i) {
      const Hook& h = list->Get(i);
      const std::string path = StrCat("hooks.", name, "[", i, "]");
      RETURN_IF_ERROR(CheckAbsolute(StrCat(path, ".path"), h.path()));
      if (h.has_timeout() && h.timeout() <= 0) {
        return Bad(StrCat(path, ".timeout"), "must be greater than zero");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIdMappings(std::string_view field,
                                const google::protobuf::RepeatedPtrField<LinuxIDMapping>& maps) {
  for (int i = 0; i < maps.size(); ++i) {
    if (maps.Get(i).size() == 0) {
      return Bad(StrCat(field, "[", i, "].size"), "must be greater than zero");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLinux(const Linux& linux) {
  static const std::set<std::string_view> kNamespaces = {"pid", "network", "mount", "ipc",
                                                         "uts", "user",    "cgroup", "time"};
  std::set<std::string> seen;
  for (int i = 0; i < linux.namespaces_size(); ++i) {
    const auto& ns = linux.namespaces(i);
    const std::string path = StrCat("linux.namespaces[", i, "]");
    if (!kNamespaces.count(ns.type())) {
      return Bad(StrCat(path, ".type"), StrCat(Quoted(ns.type()), " is not a namespace type"));
    }
    if (!seen.insert(ns.type()).second) {
      return Bad(StrCat(path, ".type"), StrCat(Quoted(ns.type()), " is given twice"));
    }
    if (!ns.path().empty()) {
      RETURN_IF_ERROR(CheckAbsolute(StrCat(path, ".path"), ns.path()));
    }
  }
  for (int i = 0; i < linux.devices_size(); ++i) {
    const auto& d = linux.devices(i);
    const std::string path = StrCat("linux.devices[", i, "]");
    RETURN_IF_ERROR(CheckAbsolute(StrCat(path, ".path"), d.path()));
    if (d.type() != "c" && d.type() != "b" && d.type() != "u" && d.type() != "p") {
      return Bad(StrCat(path, ".type"), StrCat(Quoted(d.type()), " is not one of c, b, u, p"));
    }
    if (d.major() < 0 || d.minor() < 0) {
      return Bad(path, "major and minor must not be negative");
    }
  }
  if (linux.has_resources()) {
    const auto& rules = linux.resources().devices();
    for (int i = 0; i < rules.size(); ++i) {
      const auto& r = rules.Get(i);
      const std::string path = StrCat("linux.resources.devices[", i, "]");
      if (!r.type().empty() && r.type() != "a" && r.type() != "c" && r.type() != "b") {
        return Bad(StrCat(path, ".type"), StrCat(Quoted(r.type()), " is not one of a, c, b"));
      }
      for (char c : r.access()) {
        if (c != 'r' && c != 'w' && c != 'm') {
          return Bad(StrCat(path, ".access"), StrCat(Quoted(r.access()), " may hold only r, w, m"));
        }
      }
    }
  }
  RETURN_IF_ERROR(ValidateIdMappings("linux.uidMappings", linux.uid_mappings()));
  RETURN_IF_ERROR(ValidateIdMappings("linux.gidMappings", linux.gid_mappings()));
  for (int i = 0; i < linux.masked_paths_size(); ++i) {
    RETURN_IF_ERROR(CheckAbsolute(StrCat("linux.maskedPaths[", i, "]"), linux.masked_paths(i)));
  }
  for (int i = 0; i < linux.readonly_paths_size(); ++i) {
    RETURN_IF_ERROR(CheckAbsolute(StrCat("linux.readonlyPaths[", i, "]"), linux.readonly_paths(i)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSpec(const Spec& spec) {
  if (spec.oci_version().empty()) return Bad("ociVersion", "required");
  if (!spec.has_root() || spec.root().path().empty()) return Bad("root.path", "required");
  if (HasNul(spec.root().path())) return Bad("root.path", "contains a NUL byte");
  if (spec.has_process()) RETURN_IF_ERROR(ValidateProcess(spec.process()));
  RETURN_IF_ERROR(ValidateMounts(spec));
  if (spec.has_hooks()) RETURN_IF_ERROR(ValidateHooks(spec.hooks()));
  if (spec.has_linux()) RETURN_IF_ERROR(ValidateLinux(spec.linux()));
  return absl::OkStatus();
}

}  // namespace kata::oci
