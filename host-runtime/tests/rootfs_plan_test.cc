// Classifying containerd rootfs mounts and the Storages they become (pure), and the file
// checks made before anything is attached (real files).

#include <sys/stat.h>

#include "host-runtime/rootfs/rootfs_plan.h"
#include "libkata/testing/test_support.h"

using kata::runtime::BlockRootfs;
using kata::runtime::ClassifyRootfs;
using kata::runtime::MultiLayerErofsRootfs;
using kata::runtime::RootfsMount;

namespace {

// The EROFS snapshotter's shape (reference: erofs-multi-layer.md).
std::vector<RootfsMount> SnapshotterMounts(const std::string& overlay_type = "format/mkdir/overlay") {
  return {
      {"ext4", "/s/rw.img", "", {"rw", "loop"}},
      {"erofs", "/s/layer.erofs", "", {"ro", "loop", "device=/s/l1.erofs", "device=/s/l2.erofs"}},
      {overlay_type, "overlay", "",
       {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper", "workdir={{ mount 0 }}/work",
        "lowerdir={{ mount 1 }}"}},
  };
}

std::string MessageOf(const std::vector<RootfsMount>& mounts) {
  auto p = ClassifyRootfs(mounts);
  return p.ok() ? "" : std::string(p.status().message());
}

}  // namespace

TEST_CASE("rootfs: the EROFS snapshotter's mounts are multi-layer, for each overlay type", "[rootfs]") {
  for (const char* type : {"format/mkdir/overlay", "overlay", "format/overlay", "Format/Mkdir/Overlay"}) {
    INFO(type);
    auto plan = ClassifyRootfs(SnapshotterMounts(type));
    INFO(plan.status());
    REQUIRE(plan.ok());
    const auto& ml = std::get<MultiLayerErofsRootfs>(*plan);
    CHECK(ml.upper_source == "/s/rw.img");
    CHECK(ml.upper_options == std::vector<std::string>{"rw"});
    REQUIRE(ml.lowers.size() == 1);
    CHECK(ml.lowers[0].blobs == std::vector<std::string>{"/s/layer.erofs", "/s/l1.erofs", "/s/l2.erofs"});
    CHECK(ml.lowers[0].options == std::vector<std::string>{"ro"});
    CHECK(ml.mkdir_directives == std::vector<std::string>{"{{ mount 0 }}/upper:0755"});
  }
  // Types are case-insensitive; no overlay mount is fine (no directives).
  auto bare = ClassifyRootfs({{"EXT4", "/s/rw.img", "", {"rw"}}, {"EroFS", "/s/a.erofs", "", {"ro"}}});
  REQUIRE(bare.ok());
  CHECK(std::get<MultiLayerErofsRootfs>(*bare).mkdir_directives.empty());
}

TEST_CASE("rootfs: several EROFS mounts follow overlay's lowerdir, topmost first", "[rootfs]") {
  auto plan = ClassifyRootfs({{"erofs", "/s/base.erofs", "", {"ro"}},
                              {"ext4", "/s/rw.img", "", {"rw"}},
                              {"erofs", "/s/top.erofs", "", {"ro", "X-kata.extra"}},
                              {"overlay", "overlay", "", {"lowerdir={{ mount 2 }}:{{ mount 0 }}"}}});
  INFO(plan.status());
  REQUIRE(plan.ok());
  const auto& ml = std::get<MultiLayerErofsRootfs>(*plan);
  REQUIRE(ml.lowers.size() == 2);
  CHECK(ml.lowers[0].blobs == std::vector<std::string>{"/s/top.erofs"});
  CHECK(ml.lowers[0].options == std::vector<std::string>{"ro"});  // X-kata.* is ours to add
  CHECK(ml.lowers[1].blobs == std::vector<std::string>{"/s/base.erofs"});
}

TEST_CASE("rootfs: malformed multi-layer shapes are refused by name", "[rootfs]") {
  auto m = SnapshotterMounts();
  m[0].options = {"ro", "loop"};
  CHECK(MessageOf(m).find("exactly one ext4 mount with \"rw\", found 0") != std::string::npos);
  m = SnapshotterMounts();
  m.insert(m.begin(), RootfsMount{"ext4", "/s/rw2.img", "", {"rw"}});
  CHECK(MessageOf(m).find("found 2") != std::string::npos);
  m = SnapshotterMounts();
  m[1].source.clear();
  CHECK(MessageOf(m).find("has no source") != std::string::npos);
  m = SnapshotterMounts();
  m[2].options.back() = "lowerdir={{ mount 0 }}";
  CHECK(MessageOf(m).find("does not name an EROFS mount") != std::string::npos);
  m = SnapshotterMounts();
  m[2].options.back() = "lowerdir=/var/lib/layer";
  CHECK(MessageOf(m).find("\"/var/lib/layer\"") != std::string::npos);
  m = SnapshotterMounts();
  m.push_back({"bind", "/etc", "", {"rbind"}});
  CHECK(MessageOf(m).find("type \"bind\"") != std::string::npos);
  m = SnapshotterMounts();
  m[1].options.push_back("device=");
  CHECK(MessageOf(m).find("empty device=") != std::string::npos);
  // Eleven devices: the upper and ten lowers.
  m = {{"ext4", "/s/rw.img", "", {"rw"}}};
  for (int i = 0; i < 10; ++i) m.push_back({"erofs", "/s/l" + std::to_string(i), "", {"ro"}});
  CHECK(MessageOf(m).find("needs 11 devices; at most 10") != std::string::npos);
  m.pop_back();
  CHECK(ClassifyRootfs(m).ok());
}

TEST_CASE("rootfs: one block image is a block rootfs; an overlay or a bind is shared", "[rootfs]") {
  auto plan = ClassifyRootfs({{"ext4", "/dev/mapper/snap-1", "", {"rw", "loop"}}});
  REQUIRE(plan.ok());
  const auto& b = std::get<BlockRootfs>(*plan);
  CHECK(b.fstype == "ext4");
  CHECK(b.options == std::vector<std::string>{"rw"});
  CHECK_FALSE(b.read_only);
  CHECK(std::get<BlockRootfs>(*ClassifyRootfs({{"erofs", "/s/a.erofs", "", {}}})).read_only);
  CHECK(ClassifyRootfs({}).status().code() == absl::StatusCode::kUnimplemented);
  // containerd 1.6's overlayfs and native snapshotters.
  auto overlay = ClassifyRootfs({{"overlay", "overlay", "", {"index=off", "lowerdir=/a:/b", "upperdir=/u", "workdir=/w"}}});
  REQUIRE(overlay.ok());
  CHECK(std::get<kata::runtime::SharedRootfs>(*overlay).mount.options.size() == 4);
  CHECK(std::holds_alternative<kata::runtime::SharedRootfs>(*ClassifyRootfs({{"bind", "/srv/rootfs", "", {"rbind", "rw"}}})));
  CHECK(std::holds_alternative<kata::runtime::SharedRootfs>(*ClassifyRootfs({{"none", "/srv/rootfs", "", {"rbind"}}})));
  CHECK(ClassifyRootfs({{"overlay", "overlay", "", {"lowerdir={{ mount 0 }}"}}}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ClassifyRootfs({{"tmpfs", "tmpfs", "", {}}}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(kata::runtime::RootfsStorages(*overlay, {}, "/r")->empty());
}

TEST_CASE("rootfs: Storages for the agent carry the markers and directives", "[rootfs]") {
  auto plan = ClassifyRootfs(SnapshotterMounts());
  REQUIRE(plan.ok());
  auto storages = kata::runtime::RootfsStorages(*plan, {"02/00", "03/00"}, "/run/kata-containers/c1/rootfs");
  REQUIRE(storages.ok());
  REQUIRE(storages->size() == 2);
  const auto& upper = (*storages)[0];
  CHECK(upper.driver() == "blk");
  CHECK(upper.source() == "02/00");
  CHECK(upper.fstype() == "ext4");
  CHECK(upper.mount_point() == "/run/kata-containers/c1/rootfs");
  CHECK(std::vector<std::string>(upper.options().begin(), upper.options().end()) ==
        std::vector<std::string>{"rw", "X-kata.overlay-upper", "X-kata.multi-layer=true",
                                 "X-kata.mkdir.path={{ mount 0 }}/upper:0755"});
  const auto& lower = (*storages)[1];
  CHECK(lower.fstype() == "erofs");
  CHECK(lower.source() == "03/00");
  CHECK(std::vector<std::string>(lower.options().begin(), lower.options().end()) ==
        std::vector<std::string>{"ro", "X-kata.overlay-lower", "X-kata.multi-layer=true"});
  CHECK_FALSE(kata::runtime::RootfsStorages(*plan, {"02/00"}, "/r").ok());
}

TEST_CASE("rootfs: mounts.json parses containerd's Mount shape; errors name the field", "[rootfs]") {
  auto mounts = kata::runtime::ParseRootfsMountsJson(
      R"([{"type": "ext4", "source": "/s/rw.img", "options": ["rw", "loop"]}, {"type": "erofs", "source": "/s/a"}])");
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 2);
  CHECK((*mounts)[0].options == std::vector<std::string>{"rw", "loop"});
  CHECK((*mounts)[1].options.empty());
  CHECK(std::string(kata::runtime::ParseRootfsMountsJson(R"([{"type": 1}])").status().message()) ==
        "rootfs mounts[0].type: not a string");
  CHECK(std::string(kata::runtime::ParseRootfsMountsJson(R"([{"source": "/x"}])").status().message()) ==
        "rootfs mounts[0].type: required");
  CHECK_FALSE(kata::runtime::ParseRootfsMountsJson("{}").ok());
  CHECK_FALSE(kata::runtime::ParseRootfsMountsJson("not json").ok());
}

TEST_CASE("rootfs: every blob must exist and be a regular file before anything attaches", "[rootfs]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("rw.img"), "x");
  kata::testing::WriteFile(dir.Sub("layer.erofs"), "x");
  kata::testing::MakeDirs(dir.Sub("a-dir"));
  auto plan = ClassifyRootfs({{"ext4", dir.Sub("rw.img"), "", {"rw"}},
                              {"erofs", dir.Sub("layer.erofs"), "", {"ro", "device=" + dir.Sub("missing.erofs")}}});
  REQUIRE(plan.ok());
  auto missing = kata::runtime::CheckRootfsFiles(*plan);
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.message()).find("missing.erofs") != std::string::npos);
  std::get<MultiLayerErofsRootfs>(*plan).lowers[0].blobs[1] = dir.Sub("a-dir");
  auto directory = kata::runtime::CheckRootfsFiles(*plan);
  CHECK(directory.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(directory.message()).find("a-dir is not a regular file") != std::string::npos);
  std::get<MultiLayerErofsRootfs>(*plan).lowers[0].blobs.pop_back();
  CHECK(kata::runtime::CheckRootfsFiles(*plan).ok());
}
