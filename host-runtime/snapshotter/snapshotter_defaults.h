#pragma once

// Where kata-erofs-snapshotter lives unless told otherwise: what the snapshotter, the
// containerd configuration kata-runtime writes for it, and the docs agree on.

namespace kata::snapshotter {

inline constexpr char kDefaultRoot[] = "/var/lib/kata-erofs-snapshotter";
inline constexpr char kDefaultAddress[] = "/run/kata-erofs-snapshotter/snapshotter.sock";

}  // namespace kata::snapshotter
