#include "guest-agent/uevent/uevent.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// Applies one KEY=VALUE pair; keys we do not keep are ignored.
void ApplyKey(Uevent& e, std::string_view key, std::string_view value) {
  if (key == "ACTION") e.action = value;
  else if (key == "DEVPATH") e.devpath = value;
  else if (key == "DEVNAME") e.devname = value;
  else if (key == "SUBSYSTEM") e.subsystem = value;
  else if (key == "SEQNUM") (void)absl::SimpleAtoi(ToAbsl(value), &e.seqnum);
  else if (key == "MAJOR") (void)absl::SimpleAtoi(ToAbsl(value), &e.major);
  else if (key == "MINOR") (void)absl::SimpleAtoi(ToAbsl(value), &e.minor);
}

}  // namespace

std::string Uevent::Describe() const {
  return StrCat(action, " ", subsystem, " ", devpath, devname.empty() ? "" : StrCat(" (", devname, ")"),
                " seq ", seqnum);
}

absl::StatusOr<Uevent> ParseUevent(std::string_view datagram) {
  const size_t first_nul = datagram.find('\0');
  const std::string_view header = datagram.substr(0, first_nul);
  const size_t at = header.find('@');
  if (header == "libudev" || at == std::string_view::npos || at == 0 || at + 1 >= header.size()) {
    return absl::InvalidArgumentError(
        StrCat("not a kernel uevent (header \"", header.substr(0, 64), "\")"));
  }
  Uevent e;
  if (first_nul != std::string_view::npos) {
    std::string_view rest = datagram.substr(first_nul + 1);
    while (!rest.empty()) {
      const size_t end = rest.find('\0');
      const std::string_view kv = rest.substr(0, end);
      const size_t eq = kv.find('=');
      if (eq != std::string_view::npos && eq > 0) ApplyKey(e, kv.substr(0, eq), kv.substr(eq + 1));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  // The header is authoritative when the keys disagree or are missing.
  if (e.action.empty()) e.action = header.substr(0, at);
  if (e.devpath.empty()) e.devpath = header.substr(at + 1);
  if (e.devpath.empty() || e.devpath.front() != '/') {
    return absl::InvalidArgumentError(StrCat("uevent has a bad DEVPATH \"", e.devpath.substr(0, 64), "\""));
  }
  return e;
}

Uevent UeventFromSysfs(std::string_view devpath, std::string_view subsystem,
                       std::string_view uevent_file) {
  Uevent e;
  e.action = "add";
  e.devpath = devpath;
  e.subsystem = subsystem;
  for (absl::string_view piece : absl::StrSplit(ToAbsl(uevent_file), '\n')) {
    const std::string_view line = ToStd(piece);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    if (key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM") continue;  // ours win
    ApplyKey(e, key, line.substr(eq + 1));
  }
  return e;
}

}  // namespace kata::guest
