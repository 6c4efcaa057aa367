#include "host-runtime/install/toml_tables.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

// What a scan of the value lines so far left open.
struct ScanState {
  int depth = 0;            // [ and { not yet closed
  absl::string_view fence;   // """ or ''' of an open multi-line string
};

// Follows one line's strings, brackets and comment.
absl::Status ScanLine(absl::string_view line, int number, ScanState& s) {
  size_t i = 0;
  while (i < line.size()) {
    if (!s.fence.empty()) {
      const size_t end = line.find(s.fence, i);
      if (end == absl::string_view::npos) return absl::OkStatus();  // the string goes on
      if (s.fence == "\"\"\"") {
        // An escaped quote does not close a basic string.
        size_t backslashes = 0;
        for (size_t k = end; k > i && line[k - 1] == '\\'; --k) ++backslashes;
        if (backslashes % 2 == 1) {
          i = end + 1;
          continue;
        }
      }
      i = end + 3;
      s.fence = {};
      continue;
    }
    const char c = line[i];
    if (c == '#') return absl::OkStatus();
    if (line.substr(i, 3) == "\"\"\"" || line.substr(i, 3) == "'''") {
      s.fence = line.substr(i, 3);
      i += 3;
      continue;
    }
    if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < line.size() && line[j] != c) j += (c == '"' && line[j] == '\\') ? 2 : 1;
      if (j >= line.size()) return absl::InvalidArgumentError(StrCat("line ", number, ": unterminated string"));
      i = j + 1;
      continue;
    }
    if (c == '[' || c == '{') ++s.depth;
    if (c == ']' || c == '}') {
      if (--s.depth < 0) return absl::InvalidArgumentError(StrCat("line ", number, ": unbalanced '", std::string(1, c), "'"));
    }
    ++i;
  }
  return absl::OkStatus();
}

// `[a."b.c".d]` or `[[a.b]]` -> {a, b.c, d}.
absl::StatusOr<std::vector<std::string>> HeaderPath(absl::string_view header, int number) {
  const bool array = absl::StartsWith(header, "[[");
  absl::string_view rest = header.substr(array ? 2 : 1);
  std::vector<std::string> path;
  std::string part;
  size_t i = 0;
  for (; i < rest.size() && rest[i] != ']'; ++i) {
    const char c = rest[i];
    if (c == '"' || c == '\'') {
      const size_t end = rest.find(c, i + 1);
      if (end == absl::string_view::npos) break;
      part += std::string(rest.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '.') {
      path.push_back(std::string(absl::StripAsciiWhitespace(part)));
      part.clear();
    } else {
      part += c;
    }
  }
  if (i >= rest.size() || (array && rest.substr(i, 2) != "]]")) {
    return absl::InvalidArgumentError(StrCat("line ", number, ": unterminated table header ", header));
  }
  path.push_back(std::string(absl::StripAsciiWhitespace(part)));
  for (const std::string& p : path) {
    if (p.empty()) return absl::InvalidArgumentError(StrCat("line ", number, ": empty key in table header ", header));
  }
  return path;
}

}  // namespace

absl::StatusOr<TomlTables> SplitTomlTables(absl::string_view text) {
  TomlTables out;
  ScanState state;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    const bool last = line.data() + line.size() == text.data() + text.size();
    const std::string kept = StrCat(line, last ? "" : "\n");
    if (last && line.empty()) break;
    const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (state.depth == 0 && state.fence.empty() && absl::StartsWith(trimmed, "[")) {
      auto path = HeaderPath(absl::StripTrailingAsciiWhitespace(trimmed), number);
      if (!path.ok()) return path.status();
      out.tables.push_back({std::string(absl::StripTrailingAsciiWhitespace(trimmed)), *std::move(path), kept});
      continue;
    }
    if (absl::Status s = ScanLine(line, number, state); !s.ok()) return s;
    (out.tables.empty() ? out.preamble : out.tables.back().text) += kept;
  }
  if (state.depth != 0) return absl::InvalidArgumentError("an array or inline table is not closed at the end of the file");
  if (!state.fence.empty()) return absl::InvalidArgumentError("a multi-line string is not closed at the end of the file");
  return out;
}

std::string TopLevelValue(const TomlTables& toml, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(toml.preamble, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, key)) continue;
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "=")) continue;
    const size_t comment = line.find(" #");
    return std::string(absl::StripAsciiWhitespace(line.substr(0, comment)));
  }
  return "";
}

}  // namespace kata::runtime
