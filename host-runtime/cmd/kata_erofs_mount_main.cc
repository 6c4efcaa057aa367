// kata-erofs-mount: what mount.fuse runs for a `fuse.kata-erofs-mount` mount (containerd's
// mount helper path): `kata-erofs-mount SOURCE TARGET -o OPTIONS`. The host gets an overlay
// of the snapshot's EROFS layers and its writable image (host_layers_mount.h).

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "host-runtime/rootfs/erofs_layers_mount.h"
#include "host-runtime/snapshotter/host_layers_mount.h"

namespace {

constexpr char kScratchParent[] = "/run/kata-erofs-mount";

int Fail(std::string_view what) {
  std::fprintf(stderr, "kata-erofs-mount: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  kata::runtime::RootfsMount mount{kata::runtime::kErofsLayersMountType, "", "", {}};
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-o" && i + 1 < argc) {
      for (absl::string_view o : absl::StrSplit(argv[++i], ',', absl::SkipEmpty())) mount.options.emplace_back(o);
    } else if (arg == "-h" || arg == "--help") {
      std::printf("Usage: kata-erofs-mount SOURCE TARGET -o upper=IMAGE,layer=LAYER,...\n");
      return 0;
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2) return Fail("want SOURCE TARGET -o OPTIONS");
  mount.source = positional[0];
  auto parsed = kata::runtime::ParseErofsLayersMount(mount);
  if (!parsed.ok()) return Fail(parsed.status().ToString());
  if (absl::Status s = kata::snapshotter::MountLayersOnHost(*parsed, positional[1], kScratchParent); !s.ok()) {
    return Fail(s.ToString());
  }
  return 0;
}
