// Host paths shared with the guest for bind mounts, for real (root): symlinked sources are
// followed as runc follows them, read-only stays read-only on the host side too, and a failure
// leaves nothing mounted or made.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "host-runtime/rootfs/shared_binds.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/test_support.h"

using kata::runtime::SharedBind;
using kata::testing::TempDir;
using kata::testing::WriteFile;

namespace {

SharedBind Bind(int index, const std::string& source, bool readonly) {
  SharedBind b;
  b.mount_index = index;
  b.source = source;
  b.host_target = "c1/mounts/" + std::to_string(index);
  b.readonly = readonly;
  b.recursive = true;
  return b;
}

bool MountedBelow(const std::string& dir) {
  auto text = kata::ReadFileToString("/proc/self/mountinfo");
  return text.ok() && text->find(" " + dir) != std::string::npos;
}

}  // namespace

TEST_CASE("shared binds: directories and files, symlinked sources, read-only on the host side", "[binds][root]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  const std::string shared = tmp.Sub("shared");
  kata::testing::MakeDirs(shared);
  kata::testing::MakeDirs(tmp.Sub("vol"));
  WriteFile(tmp.Sub("vol/data"), "volume\n");
  WriteFile(tmp.Sub("hosts"), "127.0.0.1 localhost\n");
  REQUIRE(::symlink(tmp.Sub("hosts").c_str(), tmp.Sub("hosts-link").c_str()) == 0);
  std::vector<std::string> mounted;
  REQUIRE(kata::runtime::MountSharedBinds({Bind(0, tmp.Sub("vol"), true), Bind(1, tmp.Sub("hosts-link"), false)}, shared, mounted)
              .ok());
  REQUIRE(mounted.size() == 2);
  CHECK(kata::testing::ReadFile(shared + "/c1/mounts/0/data") == "volume\n");
  CHECK(kata::testing::ReadFile(shared + "/c1/mounts/1") == "127.0.0.1 localhost\n");  // the link's target
  CHECK(::access((shared + "/c1/mounts/0/data").c_str(), W_OK) != 0);
  CHECK(errno == EROFS);
  WriteFile(shared + "/c1/mounts/1", "written through\n");
  CHECK(kata::testing::ReadFile(tmp.Sub("hosts")) == "written through\n");
  REQUIRE(kata::runtime::UnmountSharedBinds(mounted).ok());
  CHECK_FALSE(MountedBelow(shared));
  CHECK_FALSE(std::filesystem::exists(shared + "/c1/mounts"));
  CHECK(kata::testing::ReadFile(tmp.Sub("vol/data")) == "volume\n");  // the source is untouched
}

TEST_CASE("shared binds: a missing or dangling source fails by mount index and undoes the others", "[binds][root]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  const std::string shared = tmp.Sub("shared");
  kata::testing::MakeDirs(shared);
  kata::testing::MakeDirs(tmp.Sub("vol"));
  REQUIRE(::symlink(tmp.Sub("nowhere").c_str(), tmp.Sub("dangling").c_str()) == 0);
  for (const std::string& bad : {tmp.Sub("missing"), tmp.Sub("dangling")}) {
    INFO(bad);
    std::vector<std::string> mounted;
    const absl::Status s = kata::runtime::MountSharedBinds({Bind(2, tmp.Sub("vol"), false), Bind(5, bad, false)}, shared, mounted);
    CHECK(s.code() == absl::StatusCode::kNotFound);
    CHECK(std::string(s.message()).find("mounts[5]: bind source " + bad) != std::string::npos);
    CHECK(mounted.empty());
    CHECK_FALSE(MountedBelow(shared));
    CHECK_FALSE(std::filesystem::exists(shared + "/c1/mounts"));
  }
}
