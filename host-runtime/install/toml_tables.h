#pragma once

// A containerd config.toml cut into its tables, as text: enough to copy a plugin's tables into
// a drop-in and to add one entry to the top-level `imports`, keeping every other byte of the
// operator's file (comments and layout included). Not a TOML parser: values are not
// interpreted, only bracket depth and strings are followed so that array lines are never
// taken for table headers.

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace kata::runtime {

struct TomlTable {
  std::string header;             // the header line as written: `[plugins."io.containerd.grpc.v1.cri".cni]`
  std::vector<std::string> path;  // its key path, unquoted: plugins, io.containerd.grpc.v1.cri, cni
  std::string text;               // the header line and its body, up to the next header
};

struct TomlTables {
  std::string preamble;  // top-level keys and comments before the first header
  std::vector<TomlTable> tables;
};

// Cuts `text` at its table headers. An unterminated string, array or header is
// InvalidArgument naming the line.
absl::StatusOr<TomlTables> SplitTomlTables(absl::string_view text);

// The top-level value of `key` in the preamble as written ("2", `["/a.toml"]`), or "".
std::string TopLevelValue(const TomlTables& toml, absl::string_view key);

}  // namespace kata::runtime
