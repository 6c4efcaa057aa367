// kata-erofs-snapshotter's one mount (fuse.kata-erofs-mount): written and read back, hostile
// option lists refused naming the option, and what the shim makes of it (pure).

#include "host-runtime/rootfs/erofs_layers_mount.h"
#include "host-runtime/rootfs/rootfs_plan.h"
#include "libkata/testing/test_support.h"

using kata::runtime::ErofsLayersMount;
using kata::runtime::MultiLayerErofsRootfs;
using kata::runtime::ParseErofsLayersMount;
using kata::runtime::RootfsMount;

namespace {

RootfsMount Layers(std::vector<std::string> options) { return {"fuse.kata-erofs-mount", "kata-erofs", "", std::move(options)}; }

}  // namespace

TEST_CASE("erofs layers mount: written and read back; mount.fuse's own options kept apart", "[rootfs][erofs-snapshotter]") {
  const ErofsLayersMount m{"/s/6/rw.img", {"/s/5/layer.erofs", "/s/4/layer.erofs"}, {"ro"}};
  const RootfsMount mount = kata::runtime::ToRootfsMount(m);
  CHECK(mount.type == "fuse.kata-erofs-mount");
  CHECK(mount.options == std::vector<std::string>{"upper=/s/6/rw.img", "layer=/s/5/layer.erofs", "layer=/s/4/layer.erofs", "ro"});
  auto back = ParseErofsLayersMount(mount);
  REQUIRE(back.ok());
  CHECK(back->upper_image == m.upper_image);
  CHECK(back->layers == m.layers);
  CHECK(back->other_options == m.other_options);

  // What mount.fuse hands the helper: the same options, plus dev and suid at the end.
  auto helper = ParseErofsLayersMount(Layers({"layer=/a/layer.erofs", "upper=/b/rw.img", "dev", "suid"}));
  REQUIRE(helper.ok());
  CHECK(helper->layers == std::vector<std::string>{"/a/layer.erofs"});
  CHECK(helper->other_options == std::vector<std::string>{"dev", "suid"});
}

TEST_CASE("erofs layers mount: hostile option lists are refused, naming the option", "[rootfs][erofs-snapshotter]") {
  struct Case {
    RootfsMount mount;
    const char* want;
  };
  const Case cases[] = {
      {{"overlay", "overlay", "", {"upper=/a"}}, "is not fuse.kata-erofs-mount"},
      {Layers({}), "no upper= and no layer="},
      {Layers({"dev", "suid"}), "no upper= and no layer="},
      {Layers({"upper=relative/rw.img", "layer=/l"}), "upper=relative/rw.img"},
      {Layers({"upper=/a/rw.img", "upper=/b/rw.img", "layer=/l"}), "two upper="},
      {Layers({"upper=/a/rw.img", "layer="}), "\"layer=\""},
      {Layers({"upper=/a/rw.img", "layer=/l1:/l2"}), "layer=/l1:/l2"},          // overlayfs splits on ':'
      {Layers({"upper=/a/rw.img", "layer=/l,lowerdir=/etc"}), "holds a comma"},  // mount.fuse splits on ','
      {Layers({"upper=/a/rw.img", std::string("layer=/l\0x", 10)}), "without ',' or ':'"},
  };
  for (const Case& c : cases) {
    INFO(c.want);
    auto parsed = ParseErofsLayersMount(c.mount);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(parsed.status().message()), Catch::Contains(c.want));
  }
}

TEST_CASE("erofs layers mount: the shim reads it as multi-layer EROFS, the writable image over the layers", "[rootfs][erofs-snapshotter]") {
  auto plan = kata::runtime::ClassifyRootfs({Layers({"upper=/s/6/rw.img", "layer=/s/5/layer.erofs", "layer=/s/2/layer.erofs"})});
  INFO(plan.status());
  REQUIRE(plan.ok());
  const auto& ml = std::get<MultiLayerErofsRootfs>(*plan);
  CHECK(ml.upper_source == "/s/6/rw.img");
  CHECK(ml.upper_options == std::vector<std::string>{"rw", "noinit_itable"});
  REQUIRE(ml.lowers.size() == 2);
  CHECK(ml.lowers[0].blobs == std::vector<std::string>{"/s/5/layer.erofs"});  // topmost first, as overlayfs stacks them
  CHECK(ml.lowers[1].blobs == std::vector<std::string>{"/s/2/layer.erofs"});
  CHECK(ml.mkdir_directives.empty());  // the image already holds upper/ and work/

  auto storages = kata::runtime::RootfsStorages(*plan, {"00/01", "00/02", "00/03"}, "/run/kata-containers/c/rootfs");
  REQUIRE(storages.ok());
  REQUIRE(storages->size() == 3);
  CHECK((*storages)[0].fstype() == "ext4");
  CHECK((*storages)[1].fstype() == "erofs");
  CHECK((*storages)[2].source() == "00/03");

  // A view (no upper) or a snapshot without parents (no layer) cannot be a VM's rootfs.
  for (const auto& options : {std::vector<std::string>{"layer=/s/5/layer.erofs", "layer=/s/2/layer.erofs", "ro"},
                              std::vector<std::string>{"upper=/s/6/rw.img"}}) {
    auto refused = kata::runtime::ClassifyRootfs({Layers(options)});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kUnimplemented);
  }
  // More layers than devices a rootfs may take.
  std::vector<std::string> many{"upper=/s/rw.img"};
  for (int i = 0; i < 10; ++i) many.push_back("layer=/s/" + std::to_string(i) + "/layer.erofs");
  auto too_many = kata::runtime::ClassifyRootfs({Layers(many)});
  REQUIRE_FALSE(too_many.ok());
  CHECK_THAT(std::string(too_many.status().message()), Catch::Contains("10 layers needs 11 devices"));
}
