#include "guest-agent/storage/mkdir_directive.h"

#include <cctype>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

void SkipSpaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

// Consumes "{{ mount N }}" (spaces optional) and returns N, or -1.
int ConsumeMountTemplate(std::string_view& s) {
  if (!s.starts_with("{{")) return -1;
  s.remove_prefix(2);
  SkipSpaces(s);
  if (!s.starts_with("mount")) return -1;
  s.remove_prefix(5);
  SkipSpaces(s);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return -1;
  int n = 0;
  while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
    n = n * 10 + (s.front() - '0');
    if (n > 1000) return -1;
    s.remove_prefix(1);
  }
  SkipSpaces(s);
  if (!s.starts_with("}}")) return -1;
  s.remove_prefix(2);
  return n;
}

}  // namespace

absl::StatusOr<MkdirDirective> ParseMkdirDirective(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("mkdir directive \"", spec.substr(0, 128), "\": ", why));
  };
  if (spec.find('\0') != std::string_view::npos) return bad("holds a NUL byte");
  std::vector<std::string_view> fields;
  for (absl::string_view f : absl::StrSplit(ToAbsl(spec), ':')) fields.push_back(ToStd(f));
  if (fields.size() != 1 && fields.size() != 2 && fields.size() != 4) {
    return bad("want path[:mode[:uid:gid]]");
  }
  MkdirDirective d;
  std::string_view path = fields[0];
  d.mount_index = ConsumeMountTemplate(path);
  if (d.mount_index < 0) return bad("path must start with {{ mount 0 }} or {{ mount 1 }}");
  if (d.mount_index > 1) return bad("only {{ mount 0 }} (upper) and {{ mount 1 }} (lower) exist");
  if (!path.empty() && path.front() != '/') return bad("a path after the mount template starts with /");
  while (path.starts_with("/")) path.remove_prefix(1);
  d.relative_path = path;
  if (fields.size() >= 2) {
    const std::string_view mode = fields[1];
    if (mode.empty() || mode.size() > 5 || mode.find_first_not_of("01234567") != std::string_view::npos) {
      return bad("mode is not octal");
    }
    d.mode = static_cast<mode_t>(std::stoul(std::string(mode), nullptr, 8) & 07777);
  }
  if (fields.size() == 4) {
    uint32_t uid = 0, gid = 0;
    if (!absl::SimpleAtoi(ToAbsl(fields[2]), &uid) || !absl::SimpleAtoi(ToAbsl(fields[3]), &gid)) {
      return bad("uid and gid are numbers");
    }
    d.uid = uid;
    d.gid = gid;
  }
  return d;
}

}  // namespace kata::guest
