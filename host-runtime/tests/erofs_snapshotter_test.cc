// kata-erofs-snapshotter's snapshots on a real root (SQLite, mkfs.erofs, mkfs.ext4, loop
// mounts): containerd's semantics and error codes, layers converted with whiteouts and opaque
// directories kept, the host's view through kata-erofs-mount, restarts and crashes.

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "host-runtime/rootfs/erofs_layers_mount.h"
#include "host-runtime/snapshotter/erofs_snapshotter.h"
#include "host-runtime/snapshotter/host_layers_mount.h"
#include "libkata/testing/test_support.h"

using kata::runtime::RootfsMount;
using kata::snapshotter::ErofsSnapshotter;
using kata::snapshotter::Labels;
using kata::snapshotter::SnapshotKind;
using kata::testing::Capture;
using kata::testing::ReadFile;
using kata::testing::TempDir;
using kata::testing::WriteFile;

namespace {

std::unique_ptr<ErofsSnapshotter> OpenAt(const TempDir& tmp, bool merge_layers = true) {
  kata::snapshotter::SnapshotterOptions options;
  options.root = tmp.Sub("root");
  options.writable_size_bytes = 64u << 20;
  options.merge_layers = merge_layers;
  auto s = ErofsSnapshotter::Open(options);
  INFO(s.status());
  REQUIRE(s.ok());
  return std::move(*s);
}

// What the walking differ does with an unpack's mounts: the upper directory to write into.
std::string UnpackDir(const std::vector<RootfsMount>& mounts) {
  REQUIRE(mounts.size() == 1);
  if (mounts[0].type == "bind") return mounts[0].source;
  REQUIRE(mounts[0].type == "overlay");
  for (const std::string& o : mounts[0].options) {
    if (o.starts_with("upperdir=")) return o.substr(9);
  }
  FAIL("no upperdir");
  return "";
}

// Unpacks a layer: Prepare(extract-...), `fill` writes the directory, Commit(name).
void Unpack(ErofsSnapshotter& s, const std::string& name, const std::string& parent,
            const std::function<void(const std::string&)>& fill) {
  const std::string key = "ns/1/extract-1-" + name;
  auto mounts = s.Prepare(key, parent, {});
  INFO(mounts.status());
  REQUIRE(mounts.ok());
  fill(UnpackDir(*mounts));
  const absl::Status committed = s.Commit(name, key, {{"containerd.io/snapshot.ref", name}});
  INFO(committed);
  REQUIRE(committed.ok());
}

void Whiteout(const std::string& path) { REQUIRE(::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) == 0); }

// base: a, d/x, d/y, o/old; top: a changed, d/x deleted, o opaque with o/new.
void UnpackTwoLayers(ErofsSnapshotter& s) {
  Unpack(s, "base", "", [](const std::string& dir) {
    WriteFile(dir + "/a", "base-a");
    kata::testing::MakeDirs(dir + "/d");
    WriteFile(dir + "/d/x", "x");
    WriteFile(dir + "/d/y", "y");
    kata::testing::MakeDirs(dir + "/o");
    WriteFile(dir + "/o/old", "old");
  });
  Unpack(s, "top", "base", [](const std::string& dir) {
    WriteFile(dir + "/a", "top-a");
    kata::testing::MakeDirs(dir + "/d");
    Whiteout(dir + "/d/x");
    kata::testing::MakeDirs(dir + "/o");
    REQUIRE(::setxattr((dir + "/o").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
    WriteFile(dir + "/o/new", "new");
  });
}

int SnapshotDirCount(const TempDir& tmp) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.Sub("root/snapshots"))) n += e.is_directory();
  return n;
}

std::string LoopDevicesOf(const TempDir& tmp) { return Capture("losetup -a | grep " + tmp.path() + " || true"); }

}  // namespace

TEST_CASE("erofs snapshotter: unpacked layers become layer.erofs; a container's snapshot merges them on the host", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp, /*merge_layers=*/false);
  UnpackTwoLayers(*s);
  auto top = s->Stat("top");
  REQUIRE(top.ok());
  CHECK(top->kind == SnapshotKind::kCommitted);
  CHECK(top->parent == "base");
  CHECK(top->labels == Labels{{"containerd.io/snapshot.ref", "top"}});
  const std::string top_dir = s->SnapshotDir(top->id);
  CHECK(std::filesystem::is_regular_file(top_dir + "/layer.erofs"));
  CHECK_FALSE(std::filesystem::exists(top_dir + "/fs"));  // the directory is freed once converted

  // An unpack over parents is one overlay whose upperdir the differ writes into.
  auto extract = s->Prepare("ns/2/extract-2-third", "top", {});
  REQUIRE(extract.ok());
  CHECK((*extract)[0].type == "overlay");
  REQUIRE(s->Remove("ns/2/extract-2-third").ok());

  auto mounts = s->Prepare("ns/3/container", "top", {{"containerd.io/snapshot/x", "y"}});
  INFO(mounts.status());
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 1);
  auto layers = kata::runtime::ParseErofsLayersMount((*mounts)[0]);
  REQUIRE(layers.ok());
  CHECK(layers->layers == std::vector<std::string>{top_dir + "/layer.erofs", s->SnapshotDir(s->Stat("base")->id) + "/layer.erofs"});
  CHECK(std::filesystem::is_regular_file(layers->upper_image));

  // The host's view, as ctr's temporary mount and runc get it through kata-erofs-mount.
  kata::testing::MakeDirs(tmp.Sub("target"));
  const absl::Status mounted = kata::snapshotter::MountLayersOnHost(*layers, tmp.Sub("target"), tmp.Sub("scratch"));
  INFO(mounted);
  REQUIRE(mounted.ok());
  CHECK(ReadFile(tmp.Sub("target/a")) == "top-a");
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("target/d/x")));
  CHECK(ReadFile(tmp.Sub("target/d/y")) == "y");
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("target/o/old")));
  CHECK(ReadFile(tmp.Sub("target/o/new")) == "new");
  WriteFile(tmp.Sub("target/written"), "w");
  // Only the overlay is visible: the helper's own mounts are detached, its directories gone.
  CHECK(Capture("grep -c " + tmp.path() + " /proc/self/mountinfo").substr(0, 1) == "1");
  CHECK(std::filesystem::is_empty(tmp.Sub("scratch")));
  REQUIRE(::umount2(tmp.Sub("target").c_str(), 0) == 0);
  CHECK(LoopDevicesOf(tmp).empty());  // the loop devices went with the overlay

  // The write landed in the container's image: mounted again, it is there.
  REQUIRE(kata::snapshotter::MountLayersOnHost(*layers, tmp.Sub("target"), tmp.Sub("scratch")).ok());
  CHECK(ReadFile(tmp.Sub("target/written")) == "w");
  REQUIRE(::umount2(tmp.Sub("target").c_str(), 0) == 0);

  // Committing the container's snapshot makes its writes a layer of their own.
  REQUIRE(s->Commit("committed-container", "ns/3/container", {}).ok());
  auto view = s->View("ns/4/view", "committed-container", {});
  REQUIRE(view.ok());
  auto view_layers = kata::runtime::ParseErofsLayersMount((*view)[0]);
  REQUIRE(view_layers.ok());
  CHECK(view_layers->upper_image.empty());
  CHECK(view_layers->layers.size() == 3);
  REQUIRE(kata::snapshotter::MountLayersOnHost(*view_layers, tmp.Sub("target"), tmp.Sub("scratch")).ok());
  CHECK(ReadFile(tmp.Sub("target/written")) == "w");
  CHECK(ReadFile(tmp.Sub("target/a")) == "top-a");
  CHECK(::access(tmp.Sub("target/a").c_str(), W_OK) != 0);  // a view is read-only
  REQUIRE(::umount2(tmp.Sub("target").c_str(), 0) == 0);
  CHECK(LoopDevicesOf(tmp).empty());

  // Removal goes leaf first; the files go with the snapshot.
  for (const char* key : {"ns/4/view", "committed-container", "top", "base"}) {
    INFO(key);
    REQUIRE(s->Remove(key).ok());
  }
  CHECK(SnapshotDirCount(tmp) == 0);
  CHECK(s->List()->empty());
}

TEST_CASE("erofs snapshotter: containerd's error codes; a refused request writes nothing", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  UnpackTwoLayers(*s);
  REQUIRE(s->Prepare("ns/5/active", "top", {}).ok());
  const int dirs = SnapshotDirCount(tmp);
  const size_t listed = s->List()->size();

  struct Case {
    const char* what;
    std::function<absl::Status()> call;
    absl::StatusCode code;
    const char* names;
  };
  const std::string long_key(5000, 'k');
  const Case cases[] = {
      {"Prepare: key taken", [&] { return s->Prepare("ns/5/active", "top", {}).status(); }, absl::StatusCode::kAlreadyExists, "ns/5/active"},
      {"Prepare: key of a committed", [&] { return s->Prepare("top", "", {}).status(); }, absl::StatusCode::kAlreadyExists, "top"},
      {"Prepare: parent missing", [&] { return s->Prepare("k", "nope", {}).status(); }, absl::StatusCode::kNotFound, "nope"},
      {"Prepare: parent active", [&] { return s->Prepare("k", "ns/5/active", {}).status(); }, absl::StatusCode::kInvalidArgument, "not a committed"},
      {"Prepare: empty key", [&] { return s->Prepare("", "top", {}).status(); }, absl::StatusCode::kInvalidArgument, "key: empty"},
      {"Prepare: key with NUL", [&] { return s->Prepare(std::string("a\0b", 3), "", {}).status(); }, absl::StatusCode::kInvalidArgument, "key: holds a NUL"},
      {"Prepare: key too long", [&] { return s->Prepare(long_key, "", {}).status(); }, absl::StatusCode::kInvalidArgument, "key: longer than"},
      {"Prepare: label without name", [&] { return s->Prepare("k", "", {{"", "v"}}).status(); }, absl::StatusCode::kInvalidArgument, "empty name"},
      {"Prepare: label too long", [&] { return s->Prepare("k", "", {{"l", std::string(5000, 'v')}}).status(); }, absl::StatusCode::kInvalidArgument, "label \"l\""},
      {"View: parent missing", [&] { return s->View("k", "nope", {}).status(); }, absl::StatusCode::kNotFound, "nope"},
      {"Mounts: missing", [&] { return s->Mounts("nope").status(); }, absl::StatusCode::kNotFound, "nope"},
      {"Mounts: committed", [&] { return s->Mounts("top").status(); }, absl::StatusCode::kFailedPrecondition, "committed"},
      {"Commit: key missing", [&] { return s->Commit("n", "nope", {}); }, absl::StatusCode::kNotFound, "nope"},
      {"Commit: key committed", [&] { return s->Commit("n", "top", {}); }, absl::StatusCode::kFailedPrecondition, "not active"},
      {"Commit: name taken", [&] { return s->Commit("base", "ns/5/active", {}); }, absl::StatusCode::kAlreadyExists, "base"},
      {"Commit: empty name", [&] { return s->Commit("", "ns/5/active", {}); }, absl::StatusCode::kInvalidArgument, "name: empty"},
      {"Remove: missing", [&] { return s->Remove("nope"); }, absl::StatusCode::kNotFound, "nope"},
      {"Remove: has a child", [&] { return s->Remove("base"); }, absl::StatusCode::kFailedPrecondition, "child"},
      {"Stat: missing", [&] { return s->Stat("nope").status(); }, absl::StatusCode::kNotFound, "nope"},
      {"Update: missing", [&] { return s->Update("nope", {}).status(); }, absl::StatusCode::kNotFound, "nope"},
      {"Update: not a label", [&] { return s->Update("top", {{}, {"parent"}}).status(); }, absl::StatusCode::kInvalidArgument, "\"parent\""},
      {"Usage: missing", [&] { return s->Usage("nope").status(); }, absl::StatusCode::kNotFound, "nope"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const absl::Status status = c.call();
    INFO(status);
    CHECK(status.code() == c.code);
    CHECK_THAT(std::string(status.message()), Catch::Contains(c.names));
  }
  CHECK(SnapshotDirCount(tmp) == dirs);
  CHECK(s->List()->size() == listed);
  CHECK(s->Stat("top")->labels == Labels{{"containerd.io/snapshot.ref", "top"}});
}

TEST_CASE("erofs snapshotter: Update's mask; Usage", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  UnpackTwoLayers(*s);
  auto updated = s->Update("top", {{{"a", "1"}, {"b", "2"}}, {}});  // no mask: all labels
  REQUIRE(updated.ok());
  CHECK(updated->labels == Labels{{"a", "1"}, {"b", "2"}});
  updated = s->Update("top", {{{"a", "3"}}, {"labels.a", "labels.b"}});  // b named but absent: removed
  REQUIRE(updated.ok());
  CHECK(updated->labels == Labels{{"a", "3"}});
  CHECK(updated->updated >= updated->created);

  auto usage = s->Usage("top");
  REQUIRE(usage.ok());
  CHECK(usage->size > 0);
  auto mounts = s->Prepare("ns/1/extract-9-next", "top", {});
  REQUIRE(mounts.ok());
  WriteFile(UnpackDir(*mounts) + "/big", std::string(1 << 20, 'x'));
  usage = s->Usage("ns/1/extract-9-next");
  REQUIRE(usage.ok());
  CHECK(usage->size >= (1 << 20));
  CHECK(usage->inodes == 2);  // the directory and its file
}

TEST_CASE("erofs snapshotter: reopened it keeps everything; files a crash left behind go", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  {
    auto s = OpenAt(tmp);
    UnpackTwoLayers(*s);
    REQUIRE(s->Prepare("ns/7/c", "top", {{"l", "v"}}).ok());
  }
  // What a crash mid-operation leaves: a directory no snapshot owns (Prepare cut short before
  // its transaction committed), a half-written layer, a committed layer's unpack directory.
  kata::testing::MakeDirs(tmp.Sub("root/snapshots/999/fs/deep"));
  WriteFile(tmp.Sub("root/snapshots/999/fs/deep/f"), "orphan");
  kata::testing::MakeDirs(tmp.Sub("root/snapshots/junk-name"));
  auto s = OpenAt(tmp);
  const std::string top_dir = s->SnapshotDir(s->Stat("top")->id);
  kata::testing::MakeDirs(top_dir + "/fs/left");
  WriteFile(top_dir + "/layer.erofs.tmp", "half");
  REQUIRE(s->Cleanup().ok());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("root/snapshots/999")));
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("root/snapshots/junk-name")));
  CHECK_FALSE(std::filesystem::exists(top_dir + "/fs"));
  CHECK_FALSE(std::filesystem::exists(top_dir + "/layer.erofs.tmp"));
  CHECK(std::filesystem::exists(top_dir + "/layer.erofs"));

  auto c = s->Stat("ns/7/c");
  REQUIRE(c.ok());
  CHECK(c->kind == SnapshotKind::kActive);
  CHECK(c->parent == "top");
  CHECK(c->labels == Labels{{"l", "v"}});
  CHECK(s->List()->size() == 3);
  REQUIRE(s->Mounts("ns/7/c").ok());
  // A new snapshot never takes a removed one's id (its leftovers could be mistaken for its own).
  const int64_t old_id = c->id;
  REQUIRE(s->Remove("ns/7/c").ok());
  REQUIRE(s->Prepare("ns/8/d", "top", {}).ok());
  CHECK(s->Stat("ns/8/d")->id > old_id);
}

TEST_CASE("kata-erofs-mount: a layer that is no EROFS image fails and leaves nothing mounted", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  UnpackTwoLayers(*s);
  auto mounts = s->Prepare("ns/1/c", "top", {});
  REQUIRE(mounts.ok());
  auto layers = kata::runtime::ParseErofsLayersMount((*mounts)[0]);
  REQUIRE(layers.ok());
  WriteFile(tmp.Sub("not-erofs"), std::string(8192, 'z'));
  layers->layers.push_back(tmp.Sub("not-erofs"));
  kata::testing::MakeDirs(tmp.Sub("target"));
  const absl::Status mounted = kata::snapshotter::MountLayersOnHost(*layers, tmp.Sub("target"), tmp.Sub("scratch"));
  REQUIRE_FALSE(mounted.ok());
  CHECK_THAT(std::string(mounted.message()), Catch::Contains("not-erofs"));
  CHECK(Capture("grep -c " + tmp.path() + " /proc/self/mountinfo").substr(0, 1) == "0");
  CHECK(std::filesystem::is_empty(tmp.Sub("scratch")));
  CHECK(LoopDevicesOf(tmp).empty());
  layers->other_options = {"nosuch"};
  CHECK(kata::snapshotter::MountLayersOnHost(*layers, tmp.Sub("target"), tmp.Sub("scratch")).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("erofs snapshotter: a chain of layers is merged into one image at its first container, shared by the next",
          "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  UnpackTwoLayers(*s);
  const std::string merged = s->SnapshotDir(s->Stat("top")->id) + "/merged.erofs";
  CHECK_FALSE(std::filesystem::exists(merged));  // unpacking alone merges nothing
  auto mounts = s->Prepare("ns/1/c1", "top", {});
  REQUIRE(mounts.ok());
  auto layers = kata::runtime::ParseErofsLayersMount((*mounts)[0]);
  REQUIRE(layers.ok());
  CHECK(layers->layers == std::vector<std::string>{merged});
  // The merged image is the chain as overlayfs shows it: the deletion and the opaque
  // directory resolved, no whiteout left.
  kata::testing::MakeDirs(tmp.Sub("m"));
  REQUIRE(kata::snapshotter::MountLayersOnHost({"", {merged}, {"ro"}}, tmp.Sub("m"), tmp.Sub("scratch")).ok());
  CHECK(Capture("cd " + tmp.Sub("m") + " && find . | sort | tr '\\n' ' '") == ". ./a ./d ./d/y ./o ./o/new ");
  CHECK(ReadFile(tmp.Sub("m/a")) == "top-a");
  REQUIRE(::umount2(tmp.Sub("m").c_str(), 0) == 0);
  // A second container of the image uses the same file; a one-layer chain needs no merge.
  auto second = s->Prepare("ns/2/c2", "top", {});
  REQUIRE(second.ok());
  CHECK(kata::runtime::ParseErofsLayersMount((*second)[0])->layers == std::vector<std::string>{merged});
  auto base_only = s->Prepare("ns/3/c3", "base", {});
  REQUIRE(base_only.ok());
  CHECK(kata::runtime::ParseErofsLayersMount((*base_only)[0])->layers ==
        std::vector<std::string>{s->SnapshotDir(s->Stat("base")->id) + "/layer.erofs"});
  CHECK(std::filesystem::is_empty(tmp.Sub("root/scratch")));
  CHECK(LoopDevicesOf(tmp).empty());
  // The merged image goes with its layer.
  for (const char* key : {"ns/1/c1", "ns/2/c2", "ns/3/c3", "top"}) REQUIRE(s->Remove(key).ok());
  CHECK_FALSE(std::filesystem::exists(merged));
}

TEST_CASE("erofs snapshotter: an image of twelve layers is one disk for the VM (unmerged it would be refused)",
          "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  std::string parent;
  for (int i = 0; i < 12; ++i) {
    const std::string name = "layer" + std::to_string(i);
    Unpack(*s, name, parent, [i](const std::string& dir) {
      WriteFile(dir + "/f" + std::to_string(i), std::to_string(i));
      WriteFile(dir + "/last", std::to_string(i));
    });
    parent = name;
  }
  auto mounts = s->Prepare("ns/1/c", parent, {});
  REQUIRE(mounts.ok());
  auto plan = kata::runtime::ClassifyRootfs(*mounts);
  INFO(plan.status());
  REQUIRE(plan.ok());
  CHECK(std::get<kata::runtime::MultiLayerErofsRootfs>(*plan).lowers.size() == 1);
  auto layers = kata::runtime::ParseErofsLayersMount((*mounts)[0]);
  kata::testing::MakeDirs(tmp.Sub("m"));
  REQUIRE(kata::snapshotter::MountLayersOnHost(*layers, tmp.Sub("m"), tmp.Sub("scratch")).ok());
  CHECK(ReadFile(tmp.Sub("m/f0")) == "0");
  CHECK(ReadFile(tmp.Sub("m/f11")) == "11");
  CHECK(ReadFile(tmp.Sub("m/last")) == "11");
  REQUIRE(::umount2(tmp.Sub("m").c_str(), 0) == 0);

  // Unmerged, the same chain is a disk per layer: more than a rootfs may take.
  auto unmerged = OpenAt(tmp, /*merge_layers=*/false);
  REQUIRE(unmerged->Remove("ns/1/c").ok());
  ::unlink((unmerged->SnapshotDir(unmerged->Stat(parent)->id) + "/merged.erofs").c_str());
  auto many = unmerged->Prepare("ns/2/c", parent, {});
  REQUIRE(many.ok());
  CHECK(kata::runtime::ClassifyRootfs(*many).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("kata-erofs-mount: hostile command lines fail naming what is wrong and mount nothing", "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  TempDir tmp;
  auto s = OpenAt(tmp);
  UnpackTwoLayers(*s);
  auto mounts = s->Prepare("ns/1/c", "top", {});
  REQUIRE(mounts.ok());
  const std::string layer = kata::runtime::ParseErofsLayersMount((*mounts)[0])->layers[0];
  kata::testing::MakeDirs(tmp.Sub("target"));
  const std::string bin = KATA_EROFS_MOUNT_BIN;
  struct Case {
    std::string args;
    const char* names;
  };
  const Case cases[] = {
      {"", "want SOURCE TARGET"},
      {"kata-erofs " + tmp.Sub("target"), "no upper= and no layer="},
      {"kata-erofs " + tmp.Sub("target") + " extra -o layer=" + layer, "want SOURCE TARGET"},
      // mount.fuse splits on commas: an overlay option smuggled in is an unknown option.
      {"kata-erofs " + tmp.Sub("target") + " -o layer=" + layer + ",lowerdir=/etc", "unknown option(s) \"lowerdir=/etc\""},
      {"kata-erofs " + tmp.Sub("target") + " -o layer=relative.erofs", "layer=relative.erofs"},
      {"kata-erofs " + tmp.Sub("target") + " -o layer=/no/such.erofs", "/no/such.erofs"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    const auto r = kata::testing::RunShell(bin + " " + c.args);
    INFO(r.out);
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Catch::Contains(c.names));
  }
  CHECK(Capture("grep -c " + tmp.path() + " /proc/self/mountinfo").substr(0, 1) == "0");
  CHECK(LoopDevicesOf(tmp).empty());
}
