#include "libkata/base/identifiers.h"

#include "absl/strings/ascii.h"
#include "libkata/base/str_cat.h"

namespace kata {

absl::Status ValidateId(std::string_view field, std::string_view id) {
  constexpr size_t kMaxIdLength = 128;
  auto bad = [&](std::string_view why) {
    // The id is attacker-controlled: show at most its first 64 bytes.
    const std::string_view shown = id.substr(0, 64);
    return absl::InvalidArgumentError(StrCat(field, " \"", shown, id.size() > 64 ? "..." : "", "\" ", why));
  };
  if (id.empty()) return absl::InvalidArgumentError(StrCat(field, " is empty"));
  if (id.size() > kMaxIdLength) return bad(StrCat("is longer than ", kMaxIdLength, " characters"));
  if (!absl::ascii_isalnum(static_cast<unsigned char>(id.front()))) {
    return bad("must start with a letter or digit");
  }
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_isalnum(u) && c != '_' && c != '.' && c != '-') {
      return bad("may hold only letters, digits, '_', '.' and '-'");
    }
  }
  if (id.find("..") != std::string_view::npos) return bad("must not contain \"..\"");
  return absl::OkStatus();
}

}  // namespace kata
