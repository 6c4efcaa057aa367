// containerd-shim-kata-v2 as containerd 1.6 drives it, over a real socket: `start`, then the
// task API over ttrpc with the EROFS snapshotter's rootfs (what containerd 2.2 would send),
// stdio FIFOs, events to a fake events service, Shutdown, and `delete`.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>

#include "google/protobuf/any.pb.h"
#include "host-runtime/tests/erofs_fixture.h"
#include "host-runtime/tests/fake_events.h"
#include "host-runtime/tests/vm_test_support.h"
#include "host-runtime/ttrpc/client.h"
#include "host-runtime/ttrpc/server.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/test_support.h"
#include "protocols/containerd_task.pb.h"

namespace task = containerd::task::v2;
using kata::runtime::testing::Capture;
using kata::runtime::testing::Sh;
using kata::runtime::testing::ImageDir;

namespace {

template <typename Resp, typename Req>
absl::StatusOr<Resp> Call(kata::ttrpc::Client& c, const char* method, const Req& req) {
  auto raw = c.Call("containerd.task.v2.Task", method, req.SerializeAsString(), {}, absl::Seconds(120));
  if (!raw.ok()) return raw.status();
  Resp resp;
  if (!resp.ParseFromString(*raw)) return absl::InternalError("bad response");
  return resp;
}

struct Empty {
  bool ParseFromString(const std::string& s) { return s.empty(); }
};

}  // namespace

TEST_CASE("shim: start, Create (EROFS snapshotter rootfs), Start, Wait, State, Delete, Shutdown, delete", "[shim][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  // The image's layer: metadata + one blob, as the snapshotter's erofs mount with device=.
  kata::testing::MakeBusyboxRootfs(tmp.Sub("layer"));
  Sh("mkfs.erofs --quiet --chunksize=4096 --blobdev=" + tmp.Sub("blob.img") + " " + tmp.Sub("meta.erofs") + " " + tmp.Sub("layer"));
  REQUIRE(kata::runtime::testing::FlattenErofsDeviceTable(tmp.Sub("meta.erofs"), tmp.Sub("blob.img")).ok());
  Sh("mkfs.ext4 -q -F " + tmp.Sub("rw.img") + " 32M");
  const std::string bundle = tmp.Sub("bundle");
  kata::testing::MakeDirs(bundle + "/rootfs");
  kata::testing::WriteFile(bundle + "/config.json", R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["sh", "-c", "echo hi; echo oops >&2; exit 7"], "cwd": "/", "env": ["PATH=/bin"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}})");
  kata::testing::WriteFile(tmp.Sub("config.yaml"), "hypervisor:\n  kernel: " + ImageDir() + "/vmlinux\n  initrd: " + ImageDir() +
                                                       "/kata-initrd.img\n  memory_mib: 512\n  accel: tcg\nruntime:\n  state_dir: " +
                                                       tmp.Sub("state") + "\n");
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  ::setenv("KATA_CONF_FILE", tmp.Sub("config.yaml").c_str(), 1);
  ::setenv("TTRPC_ADDRESS", tmp.Sub("events.sock").c_str(), 1);
  const std::string shim = KATA_SHIM_BIN;
  const std::string common = shim + " -namespace testns -address " + tmp.Sub("containerd.sock") + " -id c1";

  const std::string address = Capture("cd " + bundle + " && " + common + " -publish-binary /bin/true start < /dev/null");
  INFO("address: " << address);
  REQUIRE(address.rfind("unix:///run/containerd/s/", 0) == 0);
  CHECK(kata::testing::ReadFile(bundle + "/address") == address);
  const pid_t shim_pid = std::stoi(kata::testing::ReadFile(bundle + "/shim.pid"));
  auto client = kata::ttrpc::Client::Connect(address);
  REQUIRE(client.ok());

  // The client's stdio FIFOs, read by the test as ctr would.
  for (const char* f : {"stdin", "stdout", "stderr"}) REQUIRE(::mkfifo(tmp.Sub(f).c_str(), 0600) == 0);
  kata::UniqueFd out(::open(tmp.Sub("stdout").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  // Nobody ever reads stderr (a detached client): the shim must neither block on it nor hang
  // in Delete (it did: a blocking open of the FIFO waited for a reader forever).
  auto drain = [](int fd) {
    return std::async(std::launch::async, [fd] {
      std::string s;
      char buf[4096];
      for (int idle = 0; idle < 600;) {  // until EOF after a writer came, or 60 s
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n > 0) {
          s.append(buf, static_cast<size_t>(n));
        } else if (n == 0 && !s.empty()) {
          break;
        } else {
          ::usleep(100 * 1000);
          ++idle;
        }
      }
      return s;
    });
  };
  auto out_text = drain(out.get());

  task::CreateTaskRequest create;
  create.set_id("c1");
  create.set_bundle(bundle);
  create.set_stdin(tmp.Sub("stdin"));
  create.set_stdout(tmp.Sub("stdout"));
  create.set_stderr(tmp.Sub("stderr"));
  auto add_mount = [&](const std::string& type, const std::string& source, std::vector<std::string> options) {
    auto* m = create.add_rootfs();
    m->set_type(type);
    m->set_source(source);
    for (auto& o : options) m->add_options(o);
  };
  add_mount("ext4", tmp.Sub("rw.img"), {"rw", "loop"});
  add_mount("erofs", tmp.Sub("meta.erofs"), {"ro", "loop", "device=" + tmp.Sub("blob.img")});
  add_mount("format/mkdir/overlay", "overlay",
            {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper", "workdir={{ mount 0 }}/work",
             "lowerdir={{ mount 1 }}"});
  auto created = Call<task::CreateTaskResponse>(**client, "Create", create);
  INFO(created.status());
  REQUIRE(created.ok());
  CHECK(created->pid() > 0);
  task::ConnectRequest connect;
  connect.set_id("c1");
  auto connected = Call<task::ConnectResponse>(**client, "Connect", connect);
  REQUIRE(connected.ok());
  CHECK(connected->shim_pid() == static_cast<uint32_t>(shim_pid));
  task::StateRequest state_req;
  state_req.set_id("c1");
  CHECK(Call<task::StateResponse>(**client, "State", state_req)->status() == task::CREATED);

  task::StartRequest start;
  start.set_id("c1");
  REQUIRE(Call<task::StartResponse>(**client, "Start", start).ok());
  task::WaitRequest wait_req;
  wait_req.set_id("c1");
  auto waited = std::async(std::launch::async, [&] { return Call<task::WaitResponse>(**client, "Wait", wait_req); });
  auto during = Call<task::StateResponse>(**client, "State", state_req);  // served while Wait blocks
  REQUIRE(during.ok());
  auto wait_result = waited.get();
  REQUIRE(wait_result.ok());
  CHECK(wait_result->exit_status() == 7);
  auto after = Call<task::StateResponse>(**client, "State", state_req);
  REQUIRE(after.ok());
  CHECK(after->status() == task::STOPPED);
  CHECK(after->exit_status() == 7);
  CHECK(out_text.get() == "hi\n");
  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGKILL);
  CHECK(Call<Empty>(**client, "Kill", kill).status().code() == absl::StatusCode::kNotFound);  // already finished
  CHECK(Call<Empty>(**client, "Stats", task::StatsRequest()).status().code() == absl::StatusCode::kUnimplemented);

  task::DeleteRequest del;
  del.set_id("c1");
  auto deleted = Call<task::DeleteResponse>(**client, "Delete", del);
  REQUIRE(deleted.ok());
  CHECK(deleted->exit_status() == 7);
  task::ShutdownRequest shutdown;
  shutdown.set_id("c1");
  REQUIRE(Call<Empty>(**client, "Shutdown", shutdown).ok());
  client->reset();
  for (int i = 0; i < 100 && ::kill(shim_pid, 0) == 0; ++i) ::usleep(50 * 1000);
  CHECK(::kill(shim_pid, 0) != 0);  // the daemon exited

  // containerd runs `delete` after every shim exit: idempotent, a DeleteResponse on stdout.
  for (int i = 0; i < 2; ++i) {
    const std::string raw = Capture(common + " -bundle " + bundle + " delete");
    task::DeleteResponse resp;
    REQUIRE(resp.ParseFromString(raw));
    CHECK(resp.has_exited_at());
  }
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/c1")));
  std::lock_guard<std::mutex> l(events.mu);
  CHECK(events.topics == std::vector<std::string>{"/tasks/create containerd.events.TaskCreate",
                                                  "/tasks/start containerd.events.TaskStart",
                                                  "/tasks/exit containerd.events.TaskExit",
                                                  "/tasks/delete containerd.events.TaskDelete"});
  for (const auto& ns : events.namespaces) CHECK(ns == "testns/testns");
  // The container wrote nothing, but its upper layer got the snapshotter's directories.
  CHECK(Capture("debugfs -R 'ls -l /' " + tmp.Sub("rw.img") + " 2>/dev/null").find("upper") != std::string::npos);
}

TEST_CASE("shim: -info advertises the mounts it takes itself", "[shim]") {
  const std::string raw = Capture(std::string(KATA_SHIM_BIN) + " -info < /dev/null");
  task::RuntimeInfo info;
  REQUIRE(info.ParseFromString(raw));
  CHECK(info.name() == "io.containerd.kata.v2");
  CHECK(info.annotations().at("containerd.io/runtime-allow-mounts") == "mkdir/*,format/*,erofs");
  CHECK_FALSE(info.version().version().empty());
}
