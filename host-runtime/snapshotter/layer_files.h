#pragma once

// A snapshot's files, made with the host's own tools: the writable ext4 image a container
// gets, and the EROFS image a layer becomes when it is committed (erofs-utils 1.5 options:
// whiteouts, a char 0/0 device, and the trusted.overlay.opaque xattr are kept as they are,
// which is how overlayfs reads them from a lower layer).

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace kata::snapshotter {

struct LayerTools {
  std::string mkfs_ext4 = "mkfs.ext4";
  std::string mkfs_erofs = "mkfs.erofs";
};

// Each tool named without a '/' becomes the first executable of that name on $PATH or in
// /usr/sbin, /sbin (containerd's and systemd's PATH may lack the sbin directories).
// NotFound naming the tool.
absl::Status ResolveLayerTools(LayerTools* tools);

// A sparse ext4 image of `size_bytes` at `image` whose root holds upper/ and work/ (copied from
// `template_dir`, which has them), so neither the guest nor the host helper makes them.
absl::Status MakeWritableImage(const LayerTools& tools, const std::string& image, uint64_t size_bytes,
                               const std::string& template_dir);

// `dir`'s tree as EROFS at `out`, written to `out`.tmp, synced and renamed into place.
absl::Status MakeErofsLayer(const LayerTools& tools, const std::string& dir, const std::string& out);

// The upper/ tree inside a writable `image` as EROFS at `out`: the image is loop-mounted
// read-only (noload: its journal is not replayed) on `scratch_dir` for the conversion.
absl::Status MakeErofsLayerFromImage(const LayerTools& tools, const std::string& image, const std::string& scratch_dir,
                                     const std::string& out);

}  // namespace kata::snapshotter
