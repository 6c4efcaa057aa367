#pragma once

// containerd's configuration for our runtime, decided as text (`kata-runtime
// containerd-config` prints or installs it): the `kata` RuntimeClass handler for containerd
// 1.6/1.7 (config version 2, CRI plugin io.containerd.grpc.v1.cri) or 2.x (version 3,
// io.containerd.cri.v1.runtime, with the EROFS snapshotter and differ).
//
// The install is a drop-in that the operator's config.toml imports. containerd merges an
// import by replacing each plugin's whole section with the import's (services/server/config
// mergeConfig), so a drop-in holding only our runtime table would wipe the operator's CRI
// settings (Debian's CNI bin_dir among them). The drop-in therefore carries a copy of the
// operator's tables of every plugin it sets, refreshed at each install; config.toml stays the
// operator's, with one entry added to its imports.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace kata::runtime {

enum class ContainerdLine {
  kV1,  // 1.6, 1.7
  kV2,  // 2.x
};

// "1.6.20", "v1.7.2", "1.6.20~ds1", "2.2", "2" -> its line; 1.5 and older, and unknown
// majors, are InvalidArgument.
absl::StatusOr<ContainerdLine> ParseContainerdVersion(absl::string_view version);
// The version field of `containerd --version` ("containerd github.com/containerd/containerd
// 1.6.20~ds1 1.6.20~ds1-1+b1"), or InvalidArgument.
absl::StatusOr<ContainerdLine> ContainerdLineFromVersionOutput(absl::string_view output);

// Where the tables point: our runtime's configuration, and kata-erofs-snapshotter's socket
// when the kata handler's images go through it (containerd 1.6/1.7 only: 2.x has its own
// EROFS snapshotter). With a socket, the tables add `[proxy_plugins.kata-erofs]` and the
// handler's `snapshotter = "kata-erofs"`, which containerd 1.7 honours and 1.6 ignores (there
// the CRI-wide snapshotter, or `ctr --snapshotter kata-erofs`, selects it; docs/erofs.md).
struct KataTablesOptions {
  std::string kata_config_path;
  std::string erofs_snapshotter_address;
};

inline constexpr char kErofsSnapshotterName[] = "kata-erofs";

// Our tables alone, with their config version line: what `containerd-config` prints.
std::string ContainerdSnippet(ContainerdLine line, const KataTablesOptions& options);

struct ContainerdInstall {
  std::string config;   // the operator's config.toml, `drop_in_path` in its imports
  std::string drop_in;  // copies of the operator's tables of the plugins we set, then ours
  bool config_changed = false;
};

// From the operator's config.toml (empty when there is none). Refused, naming what: a config
// of another version than the line's, a table of ours the operator already defines (say an
// earlier [...runtimes.kata]), keys directly under [plugins], a file that does not split.
absl::StatusOr<ContainerdInstall> PlanContainerdInstall(absl::string_view config_toml, ContainerdLine line,
                                                        const std::string& drop_in_path, const KataTablesOptions& options);

}  // namespace kata::runtime
