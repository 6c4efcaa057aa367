// kata-erofs-snapshotter as containerd 1.6.20 uses it (a [proxy_plugins] snapshotter of a
// private containerd; the snapshotter a daemon of the test's own): a four-layer image
// imported with ctr, its files as runc shows them with overlayfs, under runc and under kata
// with kata-erofs; writes kept across task restarts; removal and GC; the snapshotter killed
// mid-way; hostile requests straight on its socket.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "host-runtime/tests/private_containerd.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/test_support.h"
#include "protocols/containerd_snapshots.grpc.pb.h"

using kata::runtime::testing::Capture;
using kata::runtime::testing::Id;
using kata::runtime::testing::PrivateContainerd;
using kata::runtime::testing::Result;
using kata::runtime::testing::Run;
using kata::testing::TempDir;
namespace snapshotsv1 = containerd::services::snapshots::v1;

namespace {

constexpr char kLayered[] = "docker.io/library/kata-layered:latest";

// What a container sees of its rootfs: every file's checksum, the names around each change
// the layers make, and the modes of the directories they touch.
constexpr char kListing[] =
    "find / -xdev | sort | grep -v '^/proc\\|^/sys\\|^/dev' | xargs md5sum 2>/dev/null; "
    "find /data /opq /etc /dir-gone /added /later-gone 2>&1 | sort; stat -c '%A %u %g %n' /tmp /data /opq /dir-gone";

// The snapshotter daemon, its root and socket in a directory of its own.
struct Snapshotter {
  TempDir tmp;
  std::string sock = tmp.Sub("snapshotter.sock");
  std::string root = tmp.Sub("root");
  std::unique_ptr<kata::testing::Daemon> daemon;

  Snapshotter() { Start("snapshotter.log"); }
  void Start(const std::string& log) {
    daemon = std::make_unique<kata::testing::Daemon>(
        std::vector<std::string>{KATA_SNAPSHOTTER_BIN, "--root", root, "--address", sock, "--writable-size", "256M"}, tmp.Sub(log));
    daemon->WaitForPath(sock, 10000);
  }
  // SIGKILL: no chance to tidy; its socket file stays, as after a real crash, until the next
  // start replaces it (removed here so that the wait for the new one is a wait for the new one).
  void Kill() {
    ::kill(daemon->pid(), SIGKILL);
    daemon->Stop();
    std::filesystem::remove(sock);
  }
  // The proxy plugin; and containerd's garbage collection after every deletion (by default it
  // runs on a schedule of its own, so a removed snapshot's files could outlive the test's wait).
  std::string ProxyToml() const {
    return "[proxy_plugins.kata-erofs]\n  type = \"snapshot\"\n  address = \"" + sock + "\"\n"
           "[plugins.\"io.containerd.gc.v1.scheduler\"]\n  deletion_threshold = 1\n";
  }
  int SnapshotDirs() const {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(root + "/snapshots")) n += e.is_directory();
    return n;
  }
  // containerd removes a snapshot from its own metadata at once and from the snapshotter at
  // its next garbage collection: the count of snapshot directories once it settles at `n`.
  int AwaitSnapshotDirs(int n) const {
    for (int i = 0; i < 200 && SnapshotDirs() != n; ++i) ::usleep(100 * 1000);
    return SnapshotDirs();
  }
  std::string Log() const { return kata::ReadFileTail(tmp.Sub("snapshotter.log"), 3000); }
};

// containerd with the proxy plugin, the layered image imported for both snapshotters. The
// runtime's configuration is the default's: the four layers and the writable image (five
// disks) get root ports of their own at boot, beside those kept for hot-plug.
struct ErofsContainerd {
  Snapshotter snapshotter;
  PrivateContainerd c{snapshotter.ProxyToml(), "", false};
  std::string ctr_erofs = c.ctr + " snapshots --snapshotter kata-erofs ";

  ErofsContainerd() {
    const std::string tar = c.tmp.Sub("layered.tar");
    REQUIRE(Run(std::string("python3 ") + KATA_TESTS_DIR + "/make_oci_image.py " + tar + " " + kLayered + " --layered").status == 0);
    for (const char* snapshotter_name : {"overlayfs", "kata-erofs"}) {
      const Result imported = Run(c.ctr + " image import --snapshotter " + snapshotter_name + " " + tar);
      INFO(imported.out << snapshotter.Log());
      REQUIRE(imported.status == 0);
    }
  }
  // Nothing of the helper's stays mounted or attached.
  void CheckHostClean() {
    CHECK(Capture("grep -c '" + snapshotter.root + "' /proc/self/mountinfo").substr(0, 1) == "0");
    CHECK(Capture("losetup -a | grep -c '" + snapshotter.root + "' || true").substr(0, 1) == "0");
  }
};

}  // namespace

TEST_CASE("kata-erofs: a four-layer image shows the same files under runc + overlayfs, runc + kata-erofs and kata + kata-erofs",
          "[erofs-snapshotter][containerd][e2e]") {
  KATA_REQUIRE_CONTAINERD();
  ErofsContainerd e;
  // Unpacked as EROFS: one committed snapshot per layer, each a layer.erofs and nothing else.
  const Result listed = Run(e.ctr_erofs + "ls");
  INFO(listed.out);
  CHECK(std::count(listed.out.begin(), listed.out.end(), '\n') == 5);  // a header and four layers
  CHECK(e.snapshotter.SnapshotDirs() == 4);
  CHECK(Capture("find " + e.snapshotter.root + "/snapshots -type f | grep -vc '/layer.erofs$' || true").substr(0, 1) == "0");

  const std::string sh = std::string(" sh -c \"") + kListing + "\"";
  const Result oracle = Run(e.c.ctr + " run --rm " + kLayered + " " + Id("ovl") + sh);
  REQUIRE(oracle.status == 0);
  CHECK(oracle.out.find("/data/keep") != std::string::npos);
  CHECK(oracle.out.find("/opq/old") == std::string::npos);  // the opaque directory hid them

  const Result runc = Run(e.c.ctr + " run --rm --snapshotter kata-erofs " + kLayered + " " + Id("runc") + sh);
  INFO(runc.out << e.snapshotter.Log());
  CHECK(runc.status == 0);
  CHECK(runc.out == oracle.out);
  e.CheckHostClean();

  const Result kata = Run(e.c.ctr + " run --rm --snapshotter kata-erofs --runtime io.containerd.kata.v2 " + kLayered + " " +
                          Id("kata") + sh);
  INFO(kata.out << kata::ReadFileTail(e.c.tmp.Sub("containerd.log"), 3000));
  CHECK(kata.status == 0);
  CHECK(kata.out == oracle.out);
  e.c.CheckClean();

  // For bench/run-all: `ctr run --rm` of the same image under kata, its layers as EROFS disks
  // or as containerd's overlayfs shared over 9p, taken in turn (medians of three each): a
  // container that only starts and exits, and one that reads its files (30 times a walk of
  // the rootfs and a checksum of busybox).
  const std::string reads = "sh -c 'i=0; while [ $i -lt 30 ]; do find / -xdev >/dev/null; md5sum /bin/busybox >/dev/null; "
                            "i=$((i+1)); done; echo done'";
  for (const auto& [what, command, want] : {std::tuple<const char*, std::string, const char*>{"", "cat /etc/three", "3\n"},
                                           {" with file reads", reads, "done\n"}}) {
    std::vector<int64_t> erofs_ms, ovl_ms;
    for (int i = 0; i < 3; ++i) {
      for (const char* snapshotter_name : {"kata-erofs", "overlayfs"}) {
        const absl::Time t = absl::Now();
        const Result r = Run(e.c.ctr + " run --rm --snapshotter " + snapshotter_name + " --runtime io.containerd.kata.v2 " +
                             kLayered + " " + Id("time") + " " + command);
        CHECK(r.out == want);
        (std::string(snapshotter_name) == "overlayfs" ? ovl_ms : erofs_ms).push_back(absl::ToInt64Milliseconds(absl::Now() - t));
      }
    }
    std::sort(erofs_ms.begin(), erofs_ms.end());
    std::sort(ovl_ms.begin(), ovl_ms.end());
    std::printf("kata-measure: ctr run --rm%s, four-layer image under kata: kata-erofs %lld ms, overlayfs over 9p %lld ms\n",
                what, static_cast<long long>(erofs_ms[1]), static_cast<long long>(ovl_ms[1]));
  }
  e.c.CheckClean();
  e.CheckHostClean();
  CHECK(e.snapshotter.AwaitSnapshotDirs(4) == 4);  // --rm removed the container's snapshot
}

TEST_CASE("kata-erofs: writes survive a task restart; snapshot, container and image removal with GC remove the files",
          "[erofs-snapshotter][containerd][e2e]") {
  KATA_REQUIRE_CONTAINERD();
  ErofsContainerd e;
  const std::string id = Id("keep");
  const Result created = Run(e.c.ctr + " container create --snapshotter kata-erofs --runtime io.containerd.kata.v2 " + kLayered +
                             " " + id + " -- sh -c 'cat /data/written 2>/dev/null; echo run >> /data/written; rm -f /data/keep'");
  INFO(created.out);
  REQUIRE(created.status == 0);
  CHECK(e.snapshotter.SnapshotDirs() == 5);
  for (const char* want : {"", "run\n", "run\nrun\n"}) {
    const Result started = Run("timeout 120 " + e.c.ctr + " task start " + id);
    INFO(started.out << kata::ReadFileTail(e.c.tmp.Sub("containerd.log"), 3000));
    CHECK(started.status == 0);
    CHECK(started.out == want);  // ctr task start waits for the exit and deletes the task
  }
  // While a VM has the snapshot (the task started, its VM up until the task is deleted), the
  // host cannot mount its writable image as well.
  REQUIRE(Run("timeout 120 " + e.c.ctr + " task start -d " + id).status == 0);
  kata::testing::MakeDirs(e.c.tmp.Sub("peek"));
  // As containerd mounts it (mount(8) would run the helper with a PATH of its own).
  std::string options = Capture(e.ctr_erofs + "mounts " + e.c.tmp.Sub("peek") + " " + id + " | sed 's/.* -o //'");
  options.erase(options.find_last_not_of('\n') + 1);
  const Result peek = Run("mount.fuse kata-erofs " + e.c.tmp.Sub("peek") + " -o " + options + " -t kata-erofs-mount");
  INFO(options << peek.out);
  CHECK(peek.status != 0);
  CHECK(peek.out.find("is open in a VM") != std::string::npos);
  CHECK(Capture("grep -c '" + e.c.tmp.Sub("peek") + "' /proc/self/mountinfo").substr(0, 1) == "0");
  CHECK(e.c.AwaitTaskStatus(id, "STOPPED").find("STOPPED") != std::string::npos);  // its script ran to the end
  REQUIRE(Run(e.c.ctr + " task delete " + id).status == 0);
  // Another container (under runc) has a snapshot of its own: the image's files, none of those writes.
  const Result other = Run(e.c.ctr + " run --rm --snapshotter kata-erofs " + kLayered + " " + Id("other") + " sh -c 'ls /data'");
  CHECK(other.out == "change\nkeep\n");
  REQUIRE(Run(e.c.ctr + " container delete " + id).status == 0);
  CHECK(e.snapshotter.AwaitSnapshotDirs(4) == 4);
  e.c.CheckClean();

  // ctr snapshots prepare / rm on a layer; a removal that would orphan children is refused.
  const std::string top = Capture(e.ctr_erofs + "ls | awk '$3 == \"Committed\" {print $1}' | head -1");
  REQUIRE(top.size() > 10);
  const std::string top_key = top.substr(0, top.find('\n'));
  REQUIRE(Run(e.ctr_erofs + "prepare scratch " + top_key).status == 0);
  CHECK(e.snapshotter.SnapshotDirs() == 5);
  REQUIRE(Run(e.ctr_erofs + "rm scratch").status == 0);
  CHECK(e.snapshotter.AwaitSnapshotDirs(4) == 4);

  // The image goes: containerd's garbage collection removes every layer, leaf first.
  REQUIRE(Run(e.c.ctr + " image rm --sync " + kLayered).status == 0);
  INFO(e.snapshotter.Log());
  CHECK(e.snapshotter.AwaitSnapshotDirs(0) == 0);
  CHECK(Run(e.ctr_erofs + "ls").out.find("sha256:") == std::string::npos);
  e.CheckHostClean();
}

TEST_CASE("kata-erofs: the snapshotter killed and restarted mid-way loses nothing", "[erofs-snapshotter][containerd][e2e]") {
  KATA_REQUIRE_CONTAINERD();
  ErofsContainerd e;
  const std::string id = Id("crash");
  const Result created = Run(e.c.ctr + " container create --snapshotter kata-erofs --runtime io.containerd.kata.v2 " + kLayered +
                             " " + id + " -- sh -c 'cat /etc/three /data/change'");
  INFO(created.out);
  REQUIRE(created.status == 0);
  const std::string before = Run(e.ctr_erofs + "ls").out;
  e.snapshotter.Kill();
  // While it is down, containerd says so rather than hanging.
  const Result down = Run("timeout 60 " + e.ctr_erofs + "usage");
  CHECK(down.status != 0);
  CHECK(down.status != 124);
  e.snapshotter.Start("snapshotter-restarted.log");
  // containerd redials the proxy within its backoff (at most 3 s in 1.6).
  Result after;
  for (int i = 0; i < 100 && (after = Run(e.ctr_erofs + "ls")).status != 0; ++i) ::usleep(200 * 1000);
  CHECK(after.out == before);
  const Result started = Run("timeout 120 " + e.c.ctr + " task start " + id);
  INFO(started.out << kata::ReadFileTail(e.c.tmp.Sub("containerd.log"), 3000));
  CHECK(started.status == 0);
  CHECK(started.out == "3\nv3\n");
  REQUIRE(Run(e.c.ctr + " container delete " + id).status == 0);
  e.c.CheckClean();
  CHECK(e.snapshotter.AwaitSnapshotDirs(4) == 4);
}

TEST_CASE("kata-erofs: hostile requests on the snapshotter's socket get containerd's codes and write nothing",
          "[erofs-snapshotter]") {
  KATA_REQUIRE_ROOT();
  Snapshotter s;
  auto stub = snapshotsv1::Snapshots::NewStub(grpc::CreateChannel("unix://" + s.sock, grpc::InsecureChannelCredentials()));
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ((*stub).*method)(&ctx, request, response);
  };
  // A base layer unpacked and committed as containerd does it, and a container's snapshot.
  snapshotsv1::PrepareSnapshotRequest prepare;
  prepare.set_key("ns/1/extract-1-base");
  snapshotsv1::PrepareSnapshotResponse prepared;
  REQUIRE(call(&snapshotsv1::Snapshots::Stub::Prepare, prepare, &prepared).ok());
  REQUIRE(prepared.mounts_size() == 1);
  CHECK(prepared.mounts(0).type() == "bind");
  kata::testing::WriteFile(prepared.mounts(0).source() + "/f", "base");
  snapshotsv1::CommitSnapshotRequest commit;
  commit.set_key("ns/1/extract-1-base");
  commit.set_name("ns/2/base");
  google::protobuf::Empty empty;
  REQUIRE(call(&snapshotsv1::Snapshots::Stub::Commit, commit, &empty).ok());
  prepare.set_key("ns/3/container");
  prepare.set_parent("ns/2/base");
  REQUIRE(call(&snapshotsv1::Snapshots::Stub::Prepare, prepare, &prepared).ok());
  CHECK(prepared.mounts(0).type() == "fuse.kata-erofs-mount");
  const int dirs = s.SnapshotDirs();

  auto prep = [](std::string key, std::string parent, std::map<std::string, std::string> labels = {}) {
    snapshotsv1::PrepareSnapshotRequest r;
    r.set_key(std::move(key));
    r.set_parent(std::move(parent));
    for (auto& [k, v] : labels) (*r.mutable_labels())[k] = v;
    return r;
  };
  struct Case {
    const char* what;
    std::function<grpc::Status()> send;
    grpc::StatusCode code;
    const char* names;
  };
  snapshotsv1::PrepareSnapshotResponse pr;
  snapshotsv1::StatSnapshotResponse sr;
  snapshotsv1::UpdateSnapshotResponse ur;
  snapshotsv1::MountsResponse mr;
  const Case cases[] = {
      {"Prepare: key taken", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("ns/3/container", "ns/2/base"), &pr); },
       grpc::StatusCode::ALREADY_EXISTS, "ns/3/container"},
      {"Prepare: parent missing", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("k", "ns/9/none"), &pr); },
       grpc::StatusCode::NOT_FOUND, "ns/9/none"},
      {"Prepare: parent not committed", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("k", "ns/3/container"), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "not a committed"},
      {"Prepare: empty key", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("", ""), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "key: empty"},
      {"Prepare: key with NUL", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep(std::string("../\0x", 5), ""), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "key: holds a NUL"},
      {"Prepare: key of 1 MiB", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep(std::string(1 << 20, '/'), ""), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "key: longer than"},
      {"Prepare: label too long", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("k", "", {{"l", std::string(8192, 'v')}}), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "label \"l\""},
      {"Prepare: label without name", [&] { return call(&snapshotsv1::Snapshots::Stub::Prepare, prep("k", "", {{"", "v"}}), &pr); },
       grpc::StatusCode::INVALID_ARGUMENT, "empty name"},
      {"Mounts: committed", [&] {
         snapshotsv1::MountsRequest r;
         r.set_key("ns/2/base");
         return call(&snapshotsv1::Snapshots::Stub::Mounts, r, &mr);
       }, grpc::StatusCode::FAILED_PRECONDITION, "committed"},
      {"Commit: a committed key", [&] {
         snapshotsv1::CommitSnapshotRequest r;
         r.set_key("ns/2/base");
         r.set_name("n");
         return call(&snapshotsv1::Snapshots::Stub::Commit, r, &empty);
       }, grpc::StatusCode::FAILED_PRECONDITION, "not active"},
      {"Remove: a parent", [&] {
         snapshotsv1::RemoveSnapshotRequest r;
         r.set_key("ns/2/base");
         return call(&snapshotsv1::Snapshots::Stub::Remove, r, &empty);
       }, grpc::StatusCode::FAILED_PRECONDITION, "child"},
      {"Stat: missing", [&] {
         snapshotsv1::StatSnapshotRequest r;
         r.set_key("nope");
         return call(&snapshotsv1::Snapshots::Stub::Stat, r, &sr);
       }, grpc::StatusCode::NOT_FOUND, "nope"},
      {"Update: the parent field", [&] {
         snapshotsv1::UpdateSnapshotRequest r;
         r.mutable_info()->set_name("ns/2/base");
         r.mutable_info()->set_parent("ns/3/container");
         r.mutable_update_mask()->add_paths("parent");
         return call(&snapshotsv1::Snapshots::Stub::Update, r, &ur);
       }, grpc::StatusCode::INVALID_ARGUMENT, "\"parent\""},
      {"List: a filter", [&] {
         snapshotsv1::ListSnapshotsRequest r;
         r.add_filters("kind==active");
         grpc::ClientContext ctx;
         auto reader = stub->List(&ctx, r);
         snapshotsv1::ListSnapshotsResponse resp;
         while (reader->Read(&resp)) {}
         return reader->Finish();
       }, grpc::StatusCode::INVALID_ARGUMENT, "filters"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const grpc::Status status = c.send();
    INFO(status.error_message());
    CHECK(status.error_code() == c.code);
    CHECK_THAT(status.error_message(), Catch::Contains(c.names));
  }
  CHECK(s.SnapshotDirs() == dirs);
  snapshotsv1::ListSnapshotsRequest list;
  grpc::ClientContext ctx;
  auto reader = stub->List(&ctx, list);
  snapshotsv1::ListSnapshotsResponse resp;
  int infos = 0;
  while (reader->Read(&resp)) infos += resp.info_size();
  CHECK(reader->Finish().ok());
  CHECK(infos == 2);
  CHECK(Capture("losetup -a | grep -c '" + s.root + "' || true").substr(0, 1) == "0");
  // SIGTERM stops it cleanly: requests finished, its socket gone.
  s.daemon->Stop();
  CHECK_FALSE(std::filesystem::exists(s.sock));
}
