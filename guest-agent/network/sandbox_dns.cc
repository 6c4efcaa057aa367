#include "guest-agent/network/sandbox_dns.h"

#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<std::string> ResolvConfFromDns(const google::protobuf::RepeatedPtrField<std::string>& dns) {
  constexpr int kMaxLines = 64;
  constexpr size_t kMaxLine = 1024;
  if (dns.size() > kMaxLines) return absl::InvalidArgumentError(StrCat("dns has ", dns.size(), " lines, over ", kMaxLines));
  std::string out;
  for (int i = 0; i < dns.size(); ++i) {
    const std::string& line = dns[i];
    if (line.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("dns[", i, "] holds a line break or a NUL"));
    }
    if (line.size() > kMaxLine) return absl::InvalidArgumentError(StrCat("dns[", i, "] is over ", kMaxLine, " bytes"));
    const auto trimmed = absl::StripAsciiWhitespace(line);
    out.append(trimmed.data(), trimmed.size());
    out += '\n';
  }
  return out;
}

absl::Status WriteSandboxDns(const std::string& sandbox_dir, const google::protobuf::RepeatedPtrField<std::string>& dns) {
  ASSIGN_OR_RETURN(std::string content, ResolvConfFromDns(dns));
  if (content.empty()) return absl::OkStatus();
  const std::string dir = StrCat(sandbox_dir, "/sandbox");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", dir));
  return WriteFileAtomically(StrCat(sandbox_dir, "/", kSandboxResolvConf), content, 0644);
}

}  // namespace kata::guest
