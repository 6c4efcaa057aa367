#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libmount/libmount.h>

#include <algorithm>
#include <filesystem>

#include "libkata/mount/mountinfo.h"
#include "libkata/mount/remove_tree.h"
#include "libkata/mount/options.h"
#include "libkata/testing/test_support.h"

using kata::mount::ParseMountOptions;

namespace {
const std::string kTestdata = KATA_TESTDATA_DIR;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

TEST_CASE("mount options: vfs options become MS_ flags", "[mount]") {
  auto o = ParseMountOptions({"rw", "nosuid", "nodev", "relatime"});
  REQUIRE(o.ok());
  CHECK(o->flags == (MS_NOSUID | MS_NODEV | MS_RELATIME));
  CHECK(o->data.empty());
  auto ro = ParseMountOptions({"ro", "noexec"});
  REQUIRE(ro.ok());
  CHECK(ro->flags == (MS_RDONLY | MS_NOEXEC));
}

TEST_CASE("mount options: bind and rbind", "[mount]") {
  CHECK(ParseMountOptions({"bind"})->flags == MS_BIND);
  CHECK(ParseMountOptions({"rbind", "ro"})->flags == (MS_BIND | MS_REC | MS_RDONLY));
}

TEST_CASE("mount options: propagation options map to their flags", "[mount]") {
  CHECK(ParseMountOptions({"private"})->flags == MS_PRIVATE);
  CHECK(ParseMountOptions({"rslave"})->flags == (MS_SLAVE | MS_REC));
  CHECK(ParseMountOptions({"shared"})->flags == MS_SHARED);
}

TEST_CASE("mount options: filesystem options go to the data string", "[mount]") {
  auto o = ParseMountOptions({"lowerdir=/l1:/l0", "upperdir=/u/upper", "workdir=/u/work", "index=off"});
  REQUIRE(o.ok());
  CHECK(o->flags == 0);
  CHECK(o->data == "lowerdir=/l1:/l0,upperdir=/u/upper,workdir=/u/work,index=off");

  auto tmpfs = ParseMountOptions({"nosuid", "mode=755", "", "size=65536k", "strictatime"});
  REQUIRE(tmpfs.ok());
  CHECK(tmpfs->flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(tmpfs->data == "mode=755,size=65536k");
}

TEST_CASE("mount options: mount(8)'s own options are kept apart", "[mount]") {
  auto o = ParseMountOptions({"nofail", "X-mount.mkdir", "ro", "user_xattr"});
  REQUIRE(o.ok());
  CHECK(o->flags == MS_RDONLY);
  CHECK(o->data == "user_xattr");
  CHECK(Contains(o->userspace, "nofail"));
  CHECK(Contains(o->userspace, "X-mount.mkdir"));
}

TEST_CASE("mount options: an option with a comma or NUL is refused by name", "[mount]") {
  auto comma = ParseMountOptions({"ro", "lowerdir=/a,upperdir=/evil"});
  REQUIRE_FALSE(comma.ok());
  CHECK(comma.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(comma.status().message()).find("lowerdir=/a,upperdir=/evil") != std::string::npos);
  CHECK_FALSE(ParseMountOptions({std::string("mode=7\0rw", 9)}).ok());
  CHECK(ParseMountOptions({})->flags == 0);
}

TEST_CASE("mount options: the flag and userspace tables agree with libmount's", "[mount]") {
  // Our table exists so kata-agent links statically; libmount stays the reference here.
  int flag_names = 0;
  for (const libmnt_optmap* m = mnt_get_builtin_optmap(MNT_LINUX_MAP); m->name != nullptr; ++m) {
    INFO(m->name);
    auto o = ParseMountOptions({m->name});
    REQUIRE(o.ok());
    // Starting from every flag set shows what a clearing option clears.
    auto after_all = ParseMountOptions({"ro", "noexec", "nosuid", "nodev", "sync", "silent", "mand", "noatime",
                                        "nodiratime", "norelatime", "nosymfollow", "nolazytime", "noiversion",
                                        "nostrictatime", m->name});
    REQUIRE(after_all.ok());
    if (m->mask & MNT_INVERT) {
      CHECK(o->flags == 0);
      CHECK((after_all->flags & static_cast<unsigned long>(m->id)) == 0);
    } else {
      CHECK(o->flags == static_cast<unsigned long>(m->id));
    }
    CHECK(o->data.empty());
    ++flag_names;
  }
  CHECK(flag_names == 40);
  for (const libmnt_optmap* m = mnt_get_builtin_optmap(MNT_USERSPACE_MAP); m->name != nullptr; ++m) {
    std::string name = m->name;
    if (name.ends_with("[=]")) name.resize(name.size() - 3);
    if (name.ends_with("=")) name += "value";
    if (name == "x-" || name == "X-") name += "mount.mkdir";
    INFO(name);
    auto o = ParseMountOptions({name});
    REQUIRE(o.ok());
    CHECK(o->userspace == std::vector<std::string>{name});
    CHECK(o->flags == 0);
    CHECK(o->data.empty());
  }
  // A filesystem option that only looks like one of them stays filesystem data.
  CHECK(ParseMountOptions({"users=1"})->data == "users=1");
  CHECK(ParseMountOptions({"ro=1"})->data == "ro=1");
}

TEST_CASE("mount options: kata markers are split off in order", "[mount]") {
  const std::vector<std::string> in = {"rw", "X-kata.multi-layer=true", "loop", "device=/b1.erofs",
                                       "X-kata.mkdir.path={{ mount 0 }}/upper:0755", "relatime",
                                       "X-kata.mkdir.path={{ mount 0 }}/work:0755"};
  const auto split = kata::mount::SplitKataMarkers(in);
  CHECK(split.mount_options == std::vector<std::string>{"rw", "relatime"});
  CHECK(split.markers.size() == 5);
  CHECK(split.markers.front() == "X-kata.multi-layer=true");
  CHECK(kata::mount::FindOptionValue(in, "X-kata.multi-layer") == "true");
  CHECK(kata::mount::FindOptionValue(in, "loop") == "");
  CHECK_FALSE(kata::mount::FindOptionValue(in, "X-kata.missing").has_value());
  CHECK(kata::mount::FindAllOptionValues(in, "X-kata.mkdir.path") ==
        std::vector<std::string>{"{{ mount 0 }}/upper:0755", "{{ mount 0 }}/work:0755"});
  CHECK_FALSE(kata::mount::IsKataMarker("X-kata"));  // the prefix needs its dot
  CHECK_FALSE(kata::mount::IsKataMarker("loopback"));
}

TEST_CASE("mountinfo: a table with escaped paths and overlay options", "[mount]") {
  auto table = kata::mount::ReadMountInfo(kTestdata + "/mountinfo-sample");
  INFO(table.status());
  REQUIRE(table.ok());
  REQUIRE(table->size() == 7);
  const auto& layer = (*table)[3];
  CHECK(layer.target == "/run/kata/sb1/layer one");
  CHECK(layer.source == "/dev/loop0");
  CHECK(layer.parent_id == 40);
  CHECK(layer.devno == makedev(7, 0));
  const auto& overlay = (*table)[5];
  CHECK(overlay.fstype == "overlay");
  CHECK(overlay.fs_options.find("upperdir=/run/kata/sb1/layer one/upper") != std::string::npos);
  CHECK((*table)[4].vfs_options.rfind("ro", 0) == 0);

  const auto under = kata::mount::MountsUnder(*table, "/run/kata/sb1");
  REQUIRE(under.size() == 4);  // sb1 itself and three below; not sb10
  CHECK(under.front().target == "/run/kata/sb1");
  CHECK(kata::mount::MountsUnder(*table, "/").size() == 7);
}

TEST_CASE("mountinfo: an unreadable table is an error naming it", "[mount]") {
  auto missing = kata::mount::ReadMountInfo("/nonexistent/mountinfo");
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("/nonexistent/mountinfo") != std::string::npos);
  auto is_mp = kata::mount::IsMountPoint("/nonexistent/dir");
  CHECK(is_mp.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("mountinfo: this process's mount points", "[mount]") {
  CHECK(*kata::mount::IsMountPoint("/") == true);
  CHECK(*kata::mount::IsMountPoint("/proc") == true);
  kata::testing::TempDir dir;
  CHECK(*kata::mount::IsMountPoint(dir.path()) == false);
  // Through a symlink: the link's target is what counts.
  REQUIRE(::symlink("/proc", dir.Sub("proc-link").c_str()) == 0);
  CHECK(*kata::mount::IsMountPoint(dir.Sub("proc-link")) == true);
}

TEST_CASE("mountinfo: a real tmpfs mount shows up and goes", "[mount][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir dir;
  const std::string mp = dir.Sub("mnt");
  REQUIRE(::mkdir(mp.c_str(), 0755) == 0);
  auto opts = ParseMountOptions({"nosuid", "nodev", "size=1m", "mode=700"});
  REQUIRE(opts.ok());
  REQUIRE(::mount("tmpfs", mp.c_str(), "tmpfs", opts->flags, opts->data.c_str()) == 0);
  CHECK(*kata::mount::IsMountPoint(mp) == true);
  auto under = kata::mount::ListMountsUnder(dir.path());
  REQUIRE(under.ok());
  REQUIRE(under->size() == 1);
  CHECK((*under)[0].fstype == "tmpfs");
  CHECK((*under)[0].vfs_options.find("nosuid") != std::string::npos);
  CHECK((*under)[0].fs_options.find("size=1024k") != std::string::npos);
  REQUIRE(::umount(mp.c_str()) == 0);
  CHECK(*kata::mount::IsMountPoint(mp) == false);
  CHECK(kata::mount::ListMountsUnder(dir.path())->empty());
}

TEST_CASE("remove tree: mounts below are let go, never removed through", "[mount][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  // The user's data (a snapshot) bind-mounted twice deep inside the state to remove.
  kata::testing::MakeDirs(tmp.Sub("snapshot/etc"));
  kata::testing::WriteFile(tmp.Sub("snapshot/etc/data"), "precious\n");
  kata::testing::MakeDirs(tmp.Sub("state/sb/shared/c1/rootfs"));
  kata::testing::WriteFile(tmp.Sub("state/sb/qemu.pid"), "1\n");
  REQUIRE(::mount(tmp.Sub("snapshot").c_str(), tmp.Sub("state/sb/shared/c1/rootfs").c_str(), nullptr, MS_BIND, nullptr) == 0);
  kata::testing::MakeDirs(tmp.Sub("state/sb/shared/c1/rootfs/etc/inner"));
  REQUIRE(::mount("tmpfs", tmp.Sub("state/sb/shared/c1/rootfs/etc/inner").c_str(), "tmpfs", 0, "size=1m") == 0);
  REQUIRE(kata::mount::UnmountAndRemoveTree(tmp.Sub("state/sb")).ok());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/sb")));
  CHECK(kata::testing::ReadFile(tmp.Sub("snapshot/etc/data")) == "precious\n");
  auto left = kata::mount::ListMountsUnder(tmp.path());
  REQUIRE(left.ok());
  CHECK(left->empty());
  CHECK(kata::mount::UnmountAndRemoveTree(tmp.Sub("state/sb")).ok());  // gone already: fine
}
