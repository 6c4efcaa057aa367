#include "host-runtime/install/containerd_config.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "host-runtime/install/toml_tables.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr char kHandler[] = "kata";

absl::string_view CriPlugin(ContainerdLine line) {
  return line == ContainerdLine::kV1 ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime";
}

absl::string_view ConfigVersion(ContainerdLine line) { return line == ContainerdLine::kV1 ? "2" : "3"; }

// Our tables, without the version line.
std::string OurTables(ContainerdLine line, const KataTablesOptions& options) {
  const std::string runtime = StrCat("[plugins.\"", CriPlugin(line), "\".containerd.runtimes.", kHandler, "]");
  std::string out = StrCat(runtime, "\n  runtime_type = \"io.containerd.kata.v2\"\n");
  if (line == ContainerdLine::kV2) out += "  snapshotter = \"erofs\"\n";
  const bool proxy = line == ContainerdLine::kV1 && !options.erofs_snapshotter_address.empty();
  if (proxy) out += StrCat("  snapshotter = \"", kErofsSnapshotterName, "\"\n");
  out += "  pod_annotations = [\"io.katacontainers.*\"]\n";
  // A privileged pod gets the guest's devices, never the host's.
  out += "  privileged_without_host_devices = true\n";
  out += StrCat(runtime.substr(0, runtime.size() - 1), ".options]\n  ConfigPath = \"", options.kata_config_path, "\"\n");
  if (proxy) {
    out += StrCat("[proxy_plugins.", kErofsSnapshotterName, "]\n  type = \"snapshot\"\n  address = \"",
                  options.erofs_snapshotter_address, "\"\n");
  }
  if (line == ContainerdLine::kV2) {
    out += "[plugins.\"io.containerd.differ.v1.erofs\"]\n"
           "  mkfs_options = [\"-T0\", \"--mkfs-time\", \"--sort=none\"]\n"
           "  enable_tar_index = false\n"
           "[plugins.\"io.containerd.service.v1.diff-service\"]\n"
           "  default = [\"erofs\", \"walking\"]\n"
           "[plugins.\"io.containerd.snapshotter.v1.erofs\"]\n"
           "  default_size = \"10G\"\n"
           "  max_unmerged_layers = 1\n"
           "  enable_fsverity = false\n"
           "  set_immutable = true\n";
  }
  return out;
}

bool IsPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// `text` with `entry` added to the imports array that starts at `array` (its '[').
std::string AddToArray(const std::string& text, size_t array, const std::string& entry) {
  // The matching ']', past strings.
  size_t close = array + 1;
  int depth = 1;
  while (close < text.size() && depth > 0) {
    const char c = text[close];
    if (c == '"' || c == '\'') {
      const size_t end = text.find(c, close + 1);
      close = end == std::string::npos ? text.size() : end + 1;
      continue;
    }
    if (c == '#') {
      close = text.find('\n', close);
      if (close == std::string::npos) close = text.size();
      continue;
    }
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    if (depth > 0) ++close;
  }
  const absl::string_view inside = absl::StripAsciiWhitespace(absl::string_view(text).substr(array + 1, close - array - 1));
  const std::string add = inside.empty() ? entry : absl::EndsWith(inside, ",") ? StrCat(" ", entry) : StrCat(", ", entry);
  // After the last element, before the whitespace that precedes ']'.
  size_t at = close;
  while (at > array + 1 && absl::ascii_isspace(static_cast<unsigned char>(text[at - 1]))) --at;
  return StrCat(text.substr(0, at), add, text.substr(at));
}

}  // namespace

absl::StatusOr<ContainerdLine> ParseContainerdVersion(absl::string_view version) {
  absl::ConsumePrefix(&version, "v");
  const std::vector<absl::string_view> parts = absl::StrSplit(version, absl::ByAnyChar(".~-+"));
  int major = -1, minor = -1;
  if (parts.empty() || !absl::SimpleAtoi(parts[0], &major) || (parts.size() > 1 && !absl::SimpleAtoi(parts[1], &minor))) {
    return absl::InvalidArgumentError(StrCat("containerd version \"", version, "\": not MAJOR[.MINOR...]"));
  }
  if (major == 1 && (minor == -1 || minor >= 6)) return ContainerdLine::kV1;
  if (major == 2) return ContainerdLine::kV2;
  return absl::InvalidArgumentError(StrCat("containerd version \"", version, "\": 1.6, 1.7 and 2.x are supported"));
}

absl::StatusOr<ContainerdLine> ContainerdLineFromVersionOutput(absl::string_view output) {
  const std::vector<absl::string_view> fields = absl::StrSplit(absl::StripAsciiWhitespace(output), ' ', absl::SkipEmpty());
  if (fields.size() < 3 || fields[0] != "containerd") {
    return absl::InvalidArgumentError(StrCat("`containerd --version` said \"", absl::StripAsciiWhitespace(output), "\""));
  }
  return ParseContainerdVersion(fields[2]);
}

std::string ContainerdSnippet(ContainerdLine line, const KataTablesOptions& options) {
  return StrCat("version = ", ConfigVersion(line), "\n", OurTables(line, options));
}

absl::StatusOr<ContainerdInstall> PlanContainerdInstall(absl::string_view config_toml, ContainerdLine line,
                                                        const std::string& drop_in_path, const KataTablesOptions& options) {
  auto toml = SplitTomlTables(config_toml);
  if (!toml.ok()) return absl::InvalidArgumentError(StrCat("containerd's config: ", toml.status().message()));
  const std::string version = TopLevelValue(*toml, "version");
  // Nothing but comments (or nothing): containerd's defaults, which any version may extend.
  bool blank = toml->tables.empty();
  for (absl::string_view l : absl::StrSplit(toml->preamble, '\n')) {
    l = absl::StripAsciiWhitespace(l);
    if (!l.empty() && l[0] != '#') blank = false;
  }
  if (!blank && version != ConfigVersion(line)) {
    return absl::FailedPreconditionError(
        StrCat("containerd's config is version ", version.empty() ? "1 (no version line)" : version, "; containerd ",
               line == ContainerdLine::kV1 ? "1.6/1.7 reads ours as version 2" : "2.x reads ours as version 3",
               ": migrate it first (`containerd config migrate` on 2.x)"));
  }
  if (!TopLevelValue(*toml, "plugins").empty()) {
    return absl::FailedPreconditionError("containerd's config sets plugins inline (plugins = {...}): write them as [plugins.\"NAME\"] tables");
  }

  // Our tables, and the plugins they set.
  auto ours = SplitTomlTables(OurTables(line, options));
  if (!ours.ok()) return ours.status();
  std::set<std::string> plugins;
  for (const TomlTable& t : ours->tables) {
    if (t.path[0] == "plugins") plugins.insert(t.path[1]);
  }
  const std::vector<std::string> handler = {"plugins", std::string(CriPlugin(line)), "containerd", "runtimes", kHandler};

  std::string copied;
  for (const TomlTable& t : toml->tables) {
    // containerd merges proxy plugins by name: ours only must not be there already.
    for (const TomlTable& mine : ours->tables) {
      if (mine.path[0] == "proxy_plugins" && IsPrefix(mine.path, t.path)) {
        return absl::FailedPreconditionError(StrCat("containerd's config already has ", t.header,
                                                    ": remove it; the drop-in ", drop_in_path, " sets it"));
      }
    }
    if (t.path.size() == 1 && t.path[0] == "plugins") {
      for (absl::string_view body_line : absl::StrSplit(t.text.substr(t.text.find('\n') + 1), '\n')) {
        body_line = absl::StripAsciiWhitespace(body_line);
        if (!body_line.empty() && body_line[0] != '#') {
          return absl::FailedPreconditionError(StrCat("containerd's config has keys directly under [plugins] (", body_line,
                                                      "): write them as [plugins.\"NAME\"] tables"));
        }
      }
      continue;
    }
    if (t.path.size() < 2 || t.path[0] != "plugins" || !plugins.contains(t.path[1])) continue;
    for (const TomlTable& mine : ours->tables) {
      if (t.path == mine.path || IsPrefix(handler, t.path)) {
        return absl::FailedPreconditionError(StrCat("containerd's config already has ", t.header,
                                                    ": remove it; the drop-in ", drop_in_path, " sets it"));
      }
    }
    copied += t.text;
  }

  ContainerdInstall out;
  out.drop_in = StrCat("# Written by `kata-runtime containerd-config --install`: the kata-cpp runtime for containerd.\n",
                       "# containerd replaces a plugin's whole section with an imported one, so the operator's tables\n",
                       "# of the plugins set here are copied in from the main config; after editing those tables\n",
                       "# there, run `kata-runtime containerd-config --install` again.\n",
                       "version = ", ConfigVersion(line), "\n\n");
  if (!copied.empty()) {
    if (!absl::EndsWith(copied, "\n")) copied += "\n";
    out.drop_in += StrCat("# --- copied from the main config ---\n", copied, "\n# --- kata-cpp ---\n");
  }
  out.drop_in += OurTables(line, options);

  // The import, once.
  const std::string entry = StrCat("\"", drop_in_path, "\"");
  std::string config(config_toml);
  if (blank) {
    out.config = StrCat("version = ", ConfigVersion(line), "\nimports = [", entry, "]\n", config_toml);
    out.config_changed = true;
    return out;
  }
  const std::string preamble = toml->preamble;
  size_t imports = std::string::npos;
  for (size_t at = 0; at < preamble.size();) {
    const size_t end = preamble.find('\n', at);
    const absl::string_view l = absl::StripLeadingAsciiWhitespace(absl::string_view(preamble).substr(at, end - at));
    if (absl::StartsWith(l, "imports") && absl::StrContains(l, "=")) {
      imports = at;
      break;
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  if (imports != std::string::npos) {
    const size_t array = config.find('[', imports);
    if (array == std::string::npos || array >= preamble.size()) {
      return absl::FailedPreconditionError("containerd's config: imports is not an array");
    }
    const absl::string_view rest = absl::string_view(config).substr(array);
    if (absl::StrContains(rest.substr(0, rest.find(']') + 1), entry)) {
      out.config = config;
      return out;
    }
    out.config = AddToArray(config, array, entry);
  } else {
    // After the version line (top-level keys go before the first table).
    size_t at = 0;
    for (size_t pos = 0; pos < preamble.size();) {
      const size_t end = preamble.find('\n', pos);
      const absl::string_view l = absl::StripLeadingAsciiWhitespace(absl::string_view(preamble).substr(pos, end - pos));
      pos = end == std::string::npos ? preamble.size() : end + 1;
      if (absl::StartsWith(l, "version")) {
        at = pos;
        break;
      }
    }
    const std::string line_text = StrCat("imports = [", entry, "]\n");
    out.config = StrCat(config.substr(0, at), at > 0 && config[at - 1] != '\n' ? "\n" : "", line_text, config.substr(at));
  }
  out.config_changed = true;
  return out;
}

}  // namespace kata::runtime
