// The agent for real, as root: what a container is given beyond its rootfs (linux.devices,
// user namespaces with id maps). Fixture: agent_fixture.h.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "guest-agent/tests/agent_fixture.h"

using namespace agent_test;  // NOLINT: the fixture is this test's vocabulary

TEST_CASE("agent: linux.devices appear in the container at their paths", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  auto request = [&](const std::string& id, const std::string& path, int64_t minor) {
    agent::CreateContainerRequest req;
    req.set_container_id(id);
    auto spec = MakeSpec(f.RootfsOf(id), {"sh", "-c", "ls -l " + path + "; head -c 4 " + path + " | od -An -tx1"});
    auto* dev = spec.mutable_linux()->add_devices();
    dev->set_path(path);
    dev->set_type("c");
    dev->set_major(1);
    dev->set_minor(minor);
    *req.mutable_oci() = spec;
    *req.add_storages() = LocalRootfs(f.RootfsOf(id));
    return req;
  };
  // As runc: the node is made whether or not the VM has such a device (opening it then fails).
  google::protobuf::Empty e;
  const absl::Status absent = f.agent.stub().CreateContainer(request("c0", "/dev/absent", 250), &e);
  INFO(absent.message());
  REQUIRE(absent.ok());
  REQUIRE(f.Start("c0").ok());
  CHECK(f.ReadAll("c0").find("1, 250") != std::string::npos);
  CHECK(f.Wait("c0") == 0);
  REQUIRE(f.Remove("c0").ok());

  const absl::Status created = f.agent.stub().CreateContainer(request("c1", "/dev/myzero", 5), &e);  // 1:5 is /dev/zero
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("c1").ok());
  const std::string out = f.ReadAll("c1");
  INFO(out);
  CHECK(out.find(" 00 00 00 00\n") != std::string::npos);
  CHECK(out.find("crw") == 0);
  CHECK(out.find("1,   5") != std::string::npos);
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent: a user namespace maps the container's root to an unprivileged host uid", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  auto request = [&](bool with_maps) {
    agent::CreateContainerRequest req;
    req.set_container_id(with_maps ? "u1" : "u2");
    auto spec = MakeSpec(f.RootfsOf(req.container_id()), {"sh", "-c", "id -u; cat /proc/self/uid_map; echo $$; exec sleep 1000"});
    spec.mutable_linux()->add_namespaces()->set_type("user");
    if (with_maps) {
      for (auto* maps : {spec.mutable_linux()->mutable_uid_mappings(), spec.mutable_linux()->mutable_gid_mappings()}) {
        auto* m = maps->Add();
        m->set_container_id(0);
        m->set_host_id(100000);
        m->set_size(65536);
      }
    }
    *req.mutable_oci() = spec;
    *req.add_storages() = LocalRootfs(f.RootfsOf(req.container_id()));
    return req;
  };
  google::protobuf::Empty e;
  const absl::Status unmapped = f.agent.stub().CreateContainer(request(false), &e);
  CHECK(unmapped.code() == absl::StatusCode::kInvalidArgument);
  CHECK(unmapped.message().find("uidMappings") != std::string::npos);

  const absl::Status created = f.agent.stub().CreateContainer(request(true), &e);
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("u1").ok());
  // Read until the three lines are there (the process then sleeps).
  std::string out;
  while (std::count(out.begin(), out.end(), '\n') < 3) {
    agent::ReadStreamRequest r;
    r.set_container_id("u1");
    r.set_len(1024);
    agent::ReadStreamResponse resp;
    REQUIRE(f.agent.stub().ReadStdout(r, &resp).ok());
    out += resp.data();
  }
  INFO(out);
  CHECK(out.rfind("0\n", 0) == 0);  // root inside
  CHECK(out.find("100000") != std::string::npos);
  // Outside, the same process runs as host uid 100000: find it among the agent's children. The
  // shell execs sleep only after its last echo, so look until it has (CI once looked too early).
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string cmdline = kata::testing::ReadFile(entry.path().string() + "/cmdline");
      if (cmdline.find("sleep") == std::string::npos || cmdline.find("1000") == std::string::npos) continue;
      const std::string status = kata::testing::ReadFile(entry.path().string() + "/status");
      if (status.find("Uid:\t100000\t100000\t100000\t100000") != std::string::npos) seen = true;
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(seen);
  // An exec joins the user namespace too.
  const absl::Status exec = f.Exec("u1", "e1", {"id", "-u"});
  INFO(exec.message());
  REQUIRE(exec.ok());
  CHECK(f.ReadAll("u1", "e1") == "0\n");
  REQUIRE(f.Remove("u1", 5).ok());
}

TEST_CASE("agent: a terminal process gets a pty that TtyWinResize sizes and ^D ends", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  agent::CreateContainerRequest req;
  req.set_container_id("t1");
  // stty reads the size from the terminal on fd 0; cat then echoes until ^D (CloseStdin).
  auto spec = MakeSpec(f.RootfsOf("t1"), {"sh", "-c", "stty size; cat; echo done"});
  spec.mutable_process()->set_terminal(true);
  *req.mutable_oci() = spec;
  *req.add_storages() = LocalRootfs(f.RootfsOf("t1"));
  google::protobuf::Empty e;
  const absl::Status created = f.agent.stub().CreateContainer(req, &e);
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  agent::TtyWinResizeRequest resize;
  resize.set_container_id("t1");
  resize.set_row(33);
  resize.set_column(101);
  const absl::Status resized = f.agent.stub().TtyWinResize(resize, &e);
  INFO(resized.message());
  REQUIRE(resized.ok());
  agent::TtyWinResizeRequest huge = resize;
  huge.set_row(70000);  // would wrap to 4464 rows in struct winsize
  const absl::Status refused = f.agent.stub().TtyWinResize(huge, &e);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.message().find("70000") != std::string::npos);
  REQUIRE(f.Start("t1").ok());
  agent::WriteStreamRequest w;
  w.set_container_id("t1");
  w.set_data("hello\n");
  agent::WriteStreamResponse wr;
  REQUIRE(f.agent.stub().WriteStdin(w, &wr).ok());
  agent::CloseStdinRequest close;
  close.set_container_id("t1");
  REQUIRE(f.agent.stub().CloseStdin(close, &e).ok());
  const std::string out = f.ReadAll("t1");  // EOF once the pty's last slave is closed
  INFO(out);
  CHECK(out.find("33 101\r\n") != std::string::npos);
  CHECK(out.find("hello\r\n") != std::string::npos);  // the pty's echo and cat's copy (onlcr)
  CHECK(out.find("done\r\n") != std::string::npos);
  CHECK(f.ReadAll("t1", "", /*stderr_stream=*/true).empty());  // stderr is the terminal too
  CHECK(f.Wait("t1") == 0);
  // A process without a terminal cannot be resized.
  REQUIRE(f.Create("p1", {"true"}).ok());
  resize.set_container_id("p1");
  CHECK(f.agent.stub().TtyWinResize(resize, &e).code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(f.Remove("p1", 5).ok());
  REQUIRE(f.Remove("t1").ok());
}

TEST_CASE("agent: image symlinks cannot lead a mount, a mask or a read-only path out of the container root", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  // Outside the rootfs: where a naive join of an image's absolute symlink would land.
  const std::string outside = f.tmp.Sub("outside");
  kata::testing::MakeDirs(outside);
  for (const std::string& rootfs : {f.RootfsOf("c0"), f.RootfsOf("c1")}) {
    ::symlink(outside.c_str(), (rootfs + "/evil").c_str());
    ::symlink("../../../../../../../../tmp", (rootfs + "/up").c_str());  // climbs past the root: stops at it
    ::mkdir((rootfs + "/x").c_str(), 0755);
    kata::testing::WriteFile(rootfs + "/x/file", "image file\n");
  }
  auto request = [&](const std::string& id, const std::string& dest, const std::string& script) {
    agent::CreateContainerRequest req;
    req.set_container_id(id);
    auto spec = MakeSpec(f.RootfsOf(id), {"sh", "-c", script});
    auto* m = spec.add_mounts();
    m->set_destination(dest);
    m->set_type("tmpfs");
    m->set_source("tmpfs");
    spec.mutable_linux()->add_masked_paths("/up/../x/file");
    spec.mutable_linux()->add_readonly_paths("/x");
    *req.mutable_oci() = spec;
    *req.add_storages() = LocalRootfs(f.RootfsOf(id));
    return req;
  };
  google::protobuf::Empty e;
  // /evil names <root>/<outside> inside the root, which does not exist there: a clear error.
  const absl::Status evil = f.agent.stub().CreateContainer(request("c0", "/evil", "true"), &e);
  CHECK(evil.code() == absl::StatusCode::kNotFound);
  CHECK(evil.message().find("mount /evil (mounts[3], tmpfs") != std::string::npos);
  CHECK(kata::testing::ReadFile("/proc/self/mountinfo").find(outside) == std::string::npos);

  const absl::Status created = f.agent.stub().CreateContainer(
      request("c1", "/up/sub", "grep -c ' /tmp/sub ' /proc/self/mountinfo; cat /x/file; (echo w > /x/new) 2>/dev/null || echo denied"),
      &e);
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("c1").ok());
  const std::string out = f.ReadAll("c1");
  INFO(out);
  CHECK(f.Wait("c1") == 0);
  CHECK(out.starts_with("1\n"));                        // /up/sub is the container's /tmp/sub
  CHECK(out.find("image file") == std::string::npos);  // masked through the symlink, inside the container
  CHECK(out.find("denied") != std::string::npos);      // read-only
  REQUIRE(f.Remove("c1").ok());
  // Nothing of either container is left mounted on the host.
  CHECK(kata::testing::ReadFile("/proc/self/mountinfo").find(f.tmp.path()) == std::string::npos);
  CHECK(std::filesystem::is_empty(outside));
}

TEST_CASE("agent: process.consoleSize sizes the terminal from the start; /dev/console is its pty", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  agent::CreateContainerRequest req;
  req.set_container_id("t1");
  auto spec = MakeSpec(f.RootfsOf("t1"), {"sh", "-c", "stty size; [ -c /dev/console ] && stat -c '%t' /dev/console"});
  spec.mutable_process()->set_terminal(true);
  spec.mutable_process()->mutable_console_size()->set_height(40);
  spec.mutable_process()->mutable_console_size()->set_width(120);
  *req.mutable_oci() = spec;
  *req.add_storages() = LocalRootfs(f.RootfsOf("t1"));
  google::protobuf::Empty e;
  const absl::Status created = f.agent.stub().CreateContainer(req, &e);
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("t1").ok());
  const std::string out = f.ReadAll("t1");
  INFO(out);
  CHECK(out.find("40 120\r\n") != std::string::npos);
  CHECK(out.find("88\r\n") != std::string::npos);  // major 136 (0x88): a pts
  CHECK(f.Wait("t1") == 0);
  REQUIRE(f.Remove("t1").ok());
  // A size a terminal cannot hold is refused by field.
  spec.mutable_process()->mutable_console_size()->set_height(70000);
  spec.mutable_root()->set_path(f.RootfsOf("t2"));
  *req.mutable_oci() = spec;
  req.set_container_id("t2");
  *req.mutable_storages(0) = LocalRootfs(f.RootfsOf("t2"));
  const absl::Status refused = f.agent.stub().CreateContainer(req, &e);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.message().find("process.consoleSize") != std::string::npos);
}

TEST_CASE("agent: an image's /proc symlinks: /proc itself is refused, /proc/sys -> /x is covered by procfs", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  google::protobuf::Empty e;
  // /proc/sys -> /x in the image: procfs covers it, and /proc/sys (readonlyPaths) is the real one, read-only.
  ::mkdir((f.rootfs + "/x").c_str(), 0755);
  ::symlink("/x", (f.rootfs + "/proc/sys").c_str());
  REQUIRE(f.Create("c1", {"sh", "-c", "(: > /proc/sys/kernel/domainname) 2>/dev/null && echo writable || echo denied; ls /x | wc -l"}).ok());
  REQUIRE(f.Start("c1").ok());
  CHECK(f.ReadAll("c1") == "denied\n0\n");
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
  // /proc -> /x: proc must not land on a symlink (runc refuses it too); nothing is left behind.
  const std::string c2 = f.RootfsOf("c2");
  ::mkdir((c2 + "/x").c_str(), 0755);
  ::rmdir((c2 + "/proc").c_str());
  ::symlink("/x", (c2 + "/proc").c_str());
  const absl::Status refused = f.Create("c2", {"true"});
  CHECK(refused.code() == absl::StatusCode::kUnknown);
  CHECK(refused.message().find("mount /proc (mounts[0], proc from proc)") != std::string::npos);
  CHECK(refused.message().find("symbolic links") != std::string::npos);
  CHECK(kata::testing::ReadFile("/proc/self/mountinfo").find(f.tmp.path()) == std::string::npos);
  agent::StartContainerRequest start;
  start.set_container_id("c2");
  CHECK(f.agent.stub().StartContainer(start, &e).code() == absl::StatusCode::kNotFound);
}
