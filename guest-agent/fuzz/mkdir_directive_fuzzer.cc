// containerd's X-containerd.mkdir.path=SPEC directive of a multi-layer EROFS mount (the
// part after the "="): "{{ mount N }}/path:mode:uid:gid". A directive that parses names a
// path that stays inside its mount.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "guest-agent/storage/mkdir_directive.h"
#include "libkata/safe_path/safe_path.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view spec(reinterpret_cast<const char*>(data), size);
  auto d = kata::guest::ParseMkdirDirective(spec);
  if (!d.ok()) return 0;
  KATA_FUZZ_CHECK(d->mount_index >= 0, "a negative mount index");
  KATA_FUZZ_CHECK(d->relative_path.empty() || d->relative_path.front() != '/', "an absolute relative path");
  KATA_FUZZ_CHECK(d->relative_path.find('\0') == std::string::npos, "NUL in a directive's path");
  // The agent makes it with MkdirAllInRoot: ".." stops at the mount (a root that does not
  // exist has no symlinks, so the join is lexical here).
  static const std::string root = "/nonexistent-fuzz-mount";
  auto joined = kata::safe_path::ScopedJoin(root, d->relative_path);
  KATA_FUZZ_CHECK(joined.ok(), "a directive's path does not join its mount");
  KATA_FUZZ_CHECK(*joined == root || joined->starts_with(root + "/"), "a directive climbs out of its mount");
  KATA_FUZZ_CHECK((d->mode & ~07777) == 0, "mode bits beyond 07777");
  return 0;
}
