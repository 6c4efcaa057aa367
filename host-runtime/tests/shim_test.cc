// containerd-shim-kata-v2 as containerd 1.6 drives it, over a real socket: `start`, then the
// task API over ttrpc with the EROFS snapshotter's rootfs (what containerd 2.2 would send),
// stdio FIFOs, events to a fake events service, Shutdown, and `delete`.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>

#include "google/protobuf/any.pb.h"
#include "host-runtime/tests/erofs_fixture.h"
#include "host-runtime/tests/fake_events.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/ttrpc/client.h"
#include "libkata/ttrpc/server.h"
#include "libkata/base/file_util.h"
#include "libkata/mount/mountinfo.h"
#include "libkata/testing/test_support.h"
#include "protocols/cgroups_v2_metrics.pb.h"
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

// Reads a FIFO until EOF after a writer came, or 60 s; in the background.
std::future<std::string> DrainFifo(int fd) {
  return std::async(std::launch::async, [fd] {
    std::string s;
    char buf[4096];
    for (int idle = 0; idle < 600;) {
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
}

// A bundle whose process is `process_json`, the shim's config, and the EROFS snapshotter's
// rootfs mounts (ext4 rw + erofs with device= + format/mkdir/overlay) added to `create`.
// The files of task `name`: the first task's under their plain names, others' prefixed.
std::string TaskFile(kata::testing::TempDir& tmp, const std::string& name, const std::string& file) {
  return tmp.Sub(name == "c1" ? file : name + "-" + file);
}

void PrepareBundle(kata::testing::TempDir& tmp, const std::string& process_json, task::CreateTaskRequest& create,
                   const std::string& annotations_json = "{}") {
  auto file = [&](const std::string& f) { return TaskFile(tmp, create.id(), f); };
  kata::testing::MakeBusyboxRootfs(file("layer"));
  Sh("mkfs.erofs --quiet --chunksize=4096 --blobdev=" + file("blob.img") + " " + file("meta.erofs") + " " + file("layer"));
  REQUIRE(kata::runtime::testing::FlattenErofsDeviceTable(file("meta.erofs"), file("blob.img")).ok());
  Sh("mkfs.ext4 -q -F " + file("rw.img") + " 32M");
  const std::string bundle = file("bundle");
  kata::testing::MakeDirs(bundle + "/rootfs");
  kata::testing::WriteFile(bundle + "/config.json", R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "annotations": )" + annotations_json + R"(,
    "process": )" + process_json + R"(,
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}})");
  kata::testing::WriteFile(tmp.Sub("config.yaml"), "hypervisor:\n  kernel: " + ImageDir() + "/vmlinux\n  initrd: " + ImageDir() +
                                                       "/kata-initrd.img\n  memory_mib: 512\n  accel: tcg\nruntime:\n  state_dir: " +
                                                       tmp.Sub("state") + "\n");
  create.set_bundle(bundle);
  auto add_mount = [&](const std::string& type, const std::string& source, std::vector<std::string> options) {
    auto* m = create.add_rootfs();
    m->set_type(type);
    m->set_source(source);
    for (auto& o : options) m->add_options(o);
  };
  add_mount("ext4", file("rw.img"), {"rw", "loop"});
  add_mount("erofs", file("meta.erofs"), {"ro", "loop", "device=" + file("blob.img")});
  add_mount("format/mkdir/overlay", "overlay",
            {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper", "workdir={{ mount 0 }}/work",
             "lowerdir={{ mount 1 }}"});
}

// `containerd-shim-kata-v2 start` for task c1 in the bundle, as containerd runs it; the
// shim's config and events address from the environment.
struct StartedShim {
  std::string common;  // the shim's command line up to the action
  std::string bundle;
  std::string address;
  pid_t pid = -1;
  // A test that failed midway leaves no shim or VM behind: what containerd does with a shim
  // that stopped answering (SIGKILL, then `delete`).
  ~StartedShim() {
    if (pid > 0 && ::kill(pid, 0) == 0) {
      ::kill(pid, SIGKILL);
      (void)std::system((common + " -bundle " + bundle + " delete > /dev/null 2>&1").c_str());
    }
  }
};

void StartShim(kata::testing::TempDir& tmp, StartedShim& s, const std::string& id = "c1") {
  ::setenv("KATA_CONF_FILE", tmp.Sub("config.yaml").c_str(), 1);
  ::setenv("TTRPC_ADDRESS", tmp.Sub("events.sock").c_str(), 1);
  s.bundle = TaskFile(tmp, id, "bundle");
  s.common = std::string(KATA_SHIM_BIN) + " -namespace testns -address " + tmp.Sub("containerd.sock") + " -id " + id;
  s.address = Capture("cd " + s.bundle + " && " + s.common + " -publish-binary /bin/true start < /dev/null");
  INFO("address: " << s.address);
  REQUIRE(s.address.rfind("unix:///run/containerd/s/", 0) == 0);
  CHECK(kata::testing::ReadFile(s.bundle + "/address") == s.address);
  s.pid = std::stoi(kata::testing::ReadFile(s.bundle + "/shim.pid"));
}

// Shutdown, the daemon's exit, and containerd's `delete` (twice: it is idempotent).
void ShutdownAndDelete(kata::testing::TempDir& tmp, const StartedShim& shim,
                       std::unique_ptr<kata::ttrpc::Client>& client) {
  task::ShutdownRequest shutdown;
  shutdown.set_id("c1");
  REQUIRE(Call<Empty>(*client, "Shutdown", shutdown).ok());
  client.reset();
  for (int i = 0; i < 100 && ::kill(shim.pid, 0) == 0; ++i) ::usleep(50 * 1000);
  CHECK(::kill(shim.pid, 0) != 0);  // the daemon exited
  for (int i = 0; i < 2; ++i) {
    const std::string raw = Capture(shim.common + " -bundle " + shim.bundle + " delete");
    task::DeleteResponse resp;
    REQUIRE(resp.ParseFromString(raw));
    CHECK(resp.has_exited_at());
  }
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/c1")));
}

}  // namespace

TEST_CASE("shim: start, Create (EROFS snapshotter rootfs), Start, Wait, State, Stats, Delete, Shutdown, delete", "[shim][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  task::CreateTaskRequest create;
  create.set_id("c1");
  PrepareBundle(tmp, R"({"args": ["sh", "-c", "echo hi; echo oops >&2; exit 7"], "cwd": "/", "env": ["PATH=/bin"]})", create);
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  StartedShim shim;
  StartShim(tmp, shim);
  auto client = kata::ttrpc::Client::Connect(shim.address);
  REQUIRE(client.ok());

  // The client's stdio FIFOs, read by the test as ctr would.
  for (const char* f : {"stdin", "stdout", "stderr"}) REQUIRE(::mkfifo(tmp.Sub(f).c_str(), 0600) == 0);
  kata::UniqueFd out(::open(tmp.Sub("stdout").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  // Nobody ever reads stderr (a detached client): the shim must neither block on it nor hang
  // in Delete (it did: a blocking open of the FIFO waited for a reader forever).
  auto out_text = DrainFifo(out.get());
  create.set_stdin(tmp.Sub("stdin"));
  create.set_stdout(tmp.Sub("stdout"));
  create.set_stderr(tmp.Sub("stderr"));
  auto created = Call<task::CreateTaskResponse>(**client, "Create", create);
  INFO(created.status());
  REQUIRE(created.ok());
  CHECK(created->pid() > 0);
  task::ConnectRequest connect;
  connect.set_id("c1");
  auto connected = Call<task::ConnectResponse>(**client, "Connect", connect);
  REQUIRE(connected.ok());
  CHECK(connected->shim_pid() == static_cast<uint32_t>(shim.pid));
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
  // The container's cgroup in the guest outlives its processes until Delete: it ran a shell.
  task::StatsRequest stats_req;
  stats_req.set_id("c1");
  auto stats = Call<task::StatsResponse>(**client, "Stats", stats_req);
  INFO(stats.status());
  REQUIRE(stats.ok());
  CHECK(stats->stats().type_url() == "io.containerd.cgroups.v2.Metrics");
  io::containerd::cgroups::v2::Metrics metrics;
  REQUIRE(metrics.ParseFromString(stats->stats().value()));
  CHECK(metrics.cpu().usage_usec() > 0);
  CHECK(metrics.pids().current() == 0);

  task::DeleteRequest del;
  del.set_id("c1");
  auto deleted = Call<task::DeleteResponse>(**client, "Delete", del);
  REQUIRE(deleted.ok());
  CHECK(deleted->exit_status() == 7);
  ShutdownAndDelete(tmp, shim, *client);
  std::lock_guard<std::mutex> l(events.mu);
  CHECK(events.topics == std::vector<std::string>{"/tasks/create containerd.events.TaskCreate",
                                                  "/tasks/start containerd.events.TaskStart",
                                                  "/tasks/exit containerd.events.TaskExit",
                                                  "/tasks/delete containerd.events.TaskDelete"});
  for (const auto& ns : events.namespaces) CHECK(ns == "testns/testns");
  // The container wrote nothing, but its upper layer got the snapshotter's directories.
  CHECK(Capture("debugfs -R 'ls -l /' " + tmp.Sub("rw.img") + " 2>/dev/null").find("upper") != std::string::npos);
}

// A process that never runs (ctr run --rm IMAGE t /nonexistent): a Wait blocked on it returns
// when Start fails, with the exit status, and the task can be deleted; a Wait blocked on a
// created task returns when Delete comes, and Delete frees nothing under it. Before, the task
// stayed CREATED (containerd's client refuses to delete that: shim and VM stayed), and a Wait
// across Delete read freed memory.
TEST_CASE("shim: Wait on a task whose process never starts returns, through Start's failure or Delete", "[shim][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  // A pod: c1 its sandbox, running; c2 whose binary is missing; c3 created, never started.
  const char* kMember = R"({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "c1"})";
  task::CreateTaskRequest sandbox, missing, idle;
  sandbox.set_id("c1");
  PrepareBundle(tmp, R"({"args": ["sleep", "1000"], "cwd": "/", "env": ["PATH=/bin"]})", sandbox,
                R"({"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "c1"})");
  missing.set_id("c2");
  PrepareBundle(tmp, R"({"args": ["/no/such/binary"], "cwd": "/", "env": ["PATH=/bin"]})", missing, kMember);
  idle.set_id("c3");
  PrepareBundle(tmp, R"({"args": ["sleep", "1000"], "cwd": "/", "env": ["PATH=/bin"]})", idle, kMember);
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  StartedShim shim;
  StartShim(tmp, shim);
  auto client = kata::ttrpc::Client::Connect(shim.address);
  REQUIRE(client.ok());
  auto create = [&](const task::CreateTaskRequest& req) {
    auto created = Call<task::CreateTaskResponse>(**client, "Create", req);
    INFO(req.id() << ": " << created.status());
    REQUIRE(created.ok());
  };
  auto wait_for = [&](const std::string& id) {
    task::WaitRequest w;
    w.set_id(id);
    return std::async(std::launch::async, [&client, w] { return Call<task::WaitResponse>(**client, "Wait", w); });
  };
  task::StartRequest start;
  task::DeleteRequest del;
  create(sandbox);
  start.set_id("c1");
  REQUIRE(Call<task::StartResponse>(**client, "Start", start).ok());

  // c2: Start fails by name; the Wait in flight returns with a failure status; c2 is STOPPED
  // (containerd's client deletes only stopped tasks) and goes.
  create(missing);
  auto waited = wait_for("c2");
  start.set_id("c2");
  auto started = Call<task::StartResponse>(**client, "Start", start);
  CHECK(std::string(started.status().message()).find("exec the process") != std::string::npos);
  REQUIRE(waited.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto wait_result = waited.get();
  REQUIRE(wait_result.ok());
  CHECK(wait_result->exit_status() != 0);
  task::StateRequest state_req;
  state_req.set_id("c2");
  CHECK(Call<task::StateResponse>(**client, "State", state_req)->status() == task::STOPPED);
  del.set_id("c2");
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());

  // c3: a Wait blocked on a created task when Delete comes returns (255: never ran), and
  // Delete frees the task only after it (ASan saw the Wait read freed memory before).
  create(idle);
  auto waited3 = wait_for("c3");
  ::usleep(200 * 1000);  // the Wait is blocked in the shim
  del.set_id("c3");
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());
  REQUIRE(waited3.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  auto r3 = waited3.get();
  REQUIRE(r3.ok());
  CHECK(r3->exit_status() == 255);

  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGKILL);
  REQUIRE(Call<Empty>(**client, "Kill", kill).ok());
  REQUIRE(wait_for("c1").get().ok());
  del.set_id("c1");
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());
  ShutdownAndDelete(tmp, shim, *client);
  std::lock_guard<std::mutex> l(events.mu);
  CHECK(std::count(events.topics.begin(), events.topics.end(), "/tasks/exit containerd.events.TaskExit") == 2);  // c2, c1
}

TEST_CASE("shim: a terminal task (ResizePty, stdin, a terminal exec), Update and Stats on it", "[shim][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  task::CreateTaskRequest create;
  create.set_id("c1");
  // Waits for a line, so the size is set by then; reports the size and the line; then runs
  // until its stdin ends (the client closes it: the terminal's ^D).
  PrepareBundle(tmp, R"({"args": ["sh", "-c", "read x; stty size; echo got $x; read y || echo eof"], "cwd": "/",
                         "env": ["PATH=/bin"], "terminal": true})", create);
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  StartedShim shim;
  StartShim(tmp, shim);
  auto client = kata::ttrpc::Client::Connect(shim.address);
  REQUIRE(client.ok());
  // A terminal has stdin and stdout only, as `ctr run -t` gives them.
  for (const char* f : {"stdin", "stdout", "exec-out"}) REQUIRE(::mkfifo(tmp.Sub(f).c_str(), 0600) == 0);
  kata::UniqueFd out(::open(tmp.Sub("stdout").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  auto out_text = DrainFifo(out.get());
  create.set_stdin(tmp.Sub("stdin"));
  create.set_stdout(tmp.Sub("stdout"));
  create.set_terminal(true);
  auto created = Call<task::CreateTaskResponse>(**client, "Create", create);
  INFO(created.status());
  REQUIRE(created.ok());
  task::StartRequest start;
  start.set_id("c1");
  REQUIRE(Call<task::StartResponse>(**client, "Start", start).ok());
  task::ResizePtyRequest resize;
  resize.set_id("c1");
  resize.set_width(101);
  resize.set_height(33);
  auto resized = Call<Empty>(**client, "ResizePty", resize);
  INFO(resized.status());
  REQUIRE(resized.ok());
  kata::UniqueFd in(::open(tmp.Sub("stdin").c_str(), O_WRONLY | O_CLOEXEC));  // the shim holds the reading end
  REQUIRE(kata::WriteAll(in.get(), "go\n", "stdin").ok());

  // Resources through containerd's Any (OCI JSON), seen again in the guest's statistics.
  task::UpdateTaskRequest update;
  update.set_id("c1");
  update.mutable_resources()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  update.mutable_resources()->set_value(R"({"memory": {"limit": 67108864}, "pids": {"limit": 20}})");
  auto updated = Call<Empty>(**client, "Update", update);
  INFO(updated.status());
  REQUIRE(updated.ok());
  task::StatsRequest stats_req;
  stats_req.set_id("c1");
  auto stats = Call<task::StatsResponse>(**client, "Stats", stats_req);
  REQUIRE(stats.ok());
  io::containerd::cgroups::v2::Metrics metrics;
  REQUIRE(metrics.ParseFromString(stats->stats().value()));
  CHECK(metrics.memory().usage_limit() == 67108864);
  CHECK(metrics.memory().usage() > 0);
  CHECK(metrics.pids().limit() == 20);
  CHECK(metrics.pids().current() >= 1);  // the shell
  update.mutable_resources()->set_value(R"({"memory": {"limit": 1048576, "swap": 524288}})");
  CHECK(Call<Empty>(**client, "Update", update).status().code() == absl::StatusCode::kInvalidArgument);

  // An exec with its own terminal.
  kata::UniqueFd exec_out(::open(tmp.Sub("exec-out").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  auto exec_text = DrainFifo(exec_out.get());
  task::ExecProcessRequest exec;
  exec.set_id("c1");
  exec.set_exec_id("e1");
  exec.set_terminal(true);
  exec.set_stdout(tmp.Sub("exec-out"));
  exec.mutable_spec()->set_value(R"({"args": ["sh", "-c", "test -t 0 && echo tty"], "cwd": "/", "env": ["PATH=/bin"]})");
  REQUIRE(Call<Empty>(**client, "Exec", exec).ok());
  task::StartRequest exec_start;
  exec_start.set_id("c1");
  exec_start.set_exec_id("e1");
  REQUIRE(Call<task::StartResponse>(**client, "Start", exec_start).ok());
  CHECK(exec_text.get() == "tty\r\n");

  in.reset();  // the client's stdin ends: the process reads the terminal's EOF
  task::WaitRequest wait_req;
  wait_req.set_id("c1");
  auto waited = Call<task::WaitResponse>(**client, "Wait", wait_req);  // answered once the output drained
  REQUIRE(waited.ok());
  CHECK(waited->exit_status() == 0);
  const std::string text = out_text.get();
  INFO(text);
  CHECK(text.find("33 101\r\n") != std::string::npos);
  CHECK(text.find("got go\r\n") != std::string::npos);
  CHECK(text.find("eof\r\n") != std::string::npos);
  task::DeleteRequest del;
  del.set_id("c1");
  del.set_exec_id("e1");  // the exec first, as containerd does
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());
  del.clear_exec_id();
  auto deleted = Call<task::DeleteResponse>(**client, "Delete", del);
  INFO(deleted.status());
  REQUIRE(deleted.ok());
  ShutdownAndDelete(tmp, shim, *client);
}

TEST_CASE("shim: a CRI pod: its containers join the sandbox's shim and VM, each in its own cgroup", "[shim][e2e]") {
  KATA_REQUIRE_VM();
  kata::testing::TempDir tmp;
  task::CreateTaskRequest sandbox;
  sandbox.set_id("c1");
  PrepareBundle(tmp, R"({"args": ["sleep", "1000"], "cwd": "/", "env": ["PATH=/bin"]})", sandbox,
                R"({"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "c1"})");
  task::CreateTaskRequest member;
  member.set_id("c2");
  PrepareBundle(tmp, R"({"args": ["sh", "-c", "echo from c2; exec sleep 1000"], "cwd": "/", "env": ["PATH=/bin"]})", member,
                R"({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "c1"})");
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  StartedShim shim;
  StartShim(tmp, shim);
  // `start` for the pod's container names the sandbox's shim: no second shim, no second VM.
  const std::string member_bundle = TaskFile(tmp, "c2", "bundle");
  const std::string joined = Capture("cd " + member_bundle + " && " + std::string(KATA_SHIM_BIN) +
                                     " -namespace testns -address " + tmp.Sub("containerd.sock") +
                                     " -id c2 -publish-binary /bin/true start < /dev/null");
  CHECK(joined == shim.address);
  CHECK(kata::testing::ReadFile(member_bundle + "/address") == shim.address);
  CHECK_FALSE(std::filesystem::exists(member_bundle + "/shim.pid"));
  auto client = kata::ttrpc::Client::Connect(shim.address);
  REQUIRE(client.ok());

  auto created = Call<task::CreateTaskResponse>(**client, "Create", sandbox);
  INFO(created.status());
  REQUIRE(created.ok());
  task::StartRequest start;
  start.set_id("c1");
  REQUIRE(Call<task::StartResponse>(**client, "Start", start).ok());

  REQUIRE(::mkfifo(tmp.Sub("c2-stdout").c_str(), 0600) == 0);
  kata::UniqueFd out(::open(tmp.Sub("c2-stdout").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  member.set_stdout(tmp.Sub("c2-stdout"));
  auto member_created = Call<task::CreateTaskResponse>(**client, "Create", member);
  INFO(member_created.status());
  REQUIRE(member_created.ok());
  CHECK(member_created->pid() == created->pid());  // the same VM
  start.set_id("c2");
  REQUIRE(Call<task::StartResponse>(**client, "Start", start).ok());
  // Its output first: a pause and a kill right after the start could come before the echo.
  std::string out_text;
  for (int i = 0; i < 300 && out_text.find('\n') == std::string::npos; ++i) {
    char buf[256];
    const ssize_t n = ::read(out.get(), buf, sizeof(buf));
    if (n > 0) out_text.append(buf, static_cast<size_t>(n));
    else ::usleep(100 * 1000);
  }
  CHECK(out_text == "from c2\n");
  // Pausing a container of the pod freezes it alone (its cgroup), not the VM.
  task::PauseRequest pause;
  pause.set_id("c2");
  REQUIRE(Call<Empty>(**client, "Pause", pause).ok());
  task::StateRequest state;
  state.set_id("c2");
  CHECK(Call<task::StateResponse>(**client, "State", state)->status() == task::PAUSED);
  auto sandbox_stats = Call<task::StatsResponse>(**client, "Stats", [] { task::StatsRequest r; r.set_id("c1"); return r; }());
  CHECK(sandbox_stats.ok());  // the guest still answers: the VM runs
  task::ResumeRequest resume;
  resume.set_id("c2");
  REQUIRE(Call<Empty>(**client, "Resume", resume).ok());
  CHECK(Call<task::StateResponse>(**client, "State", state)->status() == task::RUNNING);
  task::KillRequest kill;
  kill.set_id("c2");
  kill.set_signal(SIGKILL);
  REQUIRE(Call<Empty>(**client, "Kill", kill).ok());
  task::WaitRequest wait_req;
  wait_req.set_id("c2");
  auto waited = Call<task::WaitResponse>(**client, "Wait", wait_req);
  REQUIRE(waited.ok());
  CHECK(waited->exit_status() == 128 + SIGKILL);

  // Each container has its own cgroup: the stopped one holds no process, the sandbox's its sleep.
  for (const char* id : {"c1", "c2"}) {
    task::StatsRequest stats_req;
    stats_req.set_id(id);
    auto stats = Call<task::StatsResponse>(**client, "Stats", stats_req);
    REQUIRE(stats.ok());
    io::containerd::cgroups::v2::Metrics metrics;
    REQUIRE(metrics.ParseFromString(stats->stats().value()));
    CHECK(metrics.pids().current() == (std::string(id) == "c1" ? 1u : 0u));
  }
  // The sandbox goes last; the shim stays while the pod has containers.
  task::DeleteRequest del;
  del.set_id("c1");
  kill.set_id("c1");
  REQUIRE(Call<Empty>(**client, "Kill", kill).ok());
  wait_req.set_id("c1");
  REQUIRE(Call<task::WaitResponse>(**client, "Wait", wait_req).ok());
  CHECK(Call<task::DeleteResponse>(**client, "Delete", del).status().code() == absl::StatusCode::kFailedPrecondition);
  del.set_id("c2");
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());
  task::ShutdownRequest shutdown;
  shutdown.set_id("c2");
  REQUIRE(Call<Empty>(**client, "Shutdown", shutdown).ok());
  ::usleep(200 * 1000);
  CHECK(::kill(shim.pid, 0) == 0);  // still serving the sandbox
  CHECK(Call<task::StateResponse>(**client, "State", state).status().code() == absl::StatusCode::kNotFound);
  del.set_id("c1");
  REQUIRE(Call<task::DeleteResponse>(**client, "Delete", del).ok());
  ShutdownAndDelete(tmp, shim, *client);
  std::lock_guard<std::mutex> l(events.mu);
  CHECK(std::count(events.topics.begin(), events.topics.end(), "/tasks/create containerd.events.TaskCreate") == 2);
  CHECK(std::count(events.topics.begin(), events.topics.end(), "/tasks/delete containerd.events.TaskDelete") == 2);
}

TEST_CASE("shim: -info advertises the mounts it takes itself", "[shim]") {
  const std::string raw = Capture(std::string(KATA_SHIM_BIN) + " -info < /dev/null");
  task::RuntimeInfo info;
  REQUIRE(info.ParseFromString(raw));
  CHECK(info.name() == "io.containerd.kata.v2");
  CHECK(info.annotations().at("containerd.io/runtime-allow-mounts") == "mkdir/*,format/*,erofs");
  CHECK_FALSE(info.version().version().empty());
}

TEST_CASE("shim: start for a pod's container whose sandbox has no shim fails by name and starts nothing", "[shim]") {
  kata::testing::TempDir tmp;
  kata::testing::MakeDirs(tmp.Sub("bundle/rootfs"));
  kata::testing::WriteFile(tmp.Sub("bundle/config.json"), R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["true"], "cwd": "/"},
    "annotations": {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "nosuch-pod"}})");
  const std::string out = Capture("cd " + tmp.Sub("bundle") + " && " + std::string(KATA_SHIM_BIN) +
                                  " -namespace testns -address " + tmp.Sub("containerd.sock") +
                                  " -id c2 start < /dev/null 2>&1; echo \" exit=$?\"");
  CHECK(out.find("sandbox nosuch-pod") != std::string::npos);
  CHECK(out.find(" exit=1") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("bundle/address")));
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("bundle/shim.pid")));
}

// Issue 14: after a shim crash, containerd runs `delete`, which removed the sandbox's state
// directory recursively while containerd's snapshot was still bind-mounted below it for 9p:
// the snapshot's contents went with it.
TEST_CASE("shim: delete after a crash unmounts the shared rootfs and keeps the snapshot's data", "[shim]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  kata::testing::WriteFile(tmp.Sub("config.yaml"), "runtime:\n  state_dir: " + tmp.Sub("state") + "\n");
  kata::testing::MakeDirs(tmp.Sub("snapshot/fs/etc"));
  kata::testing::WriteFile(tmp.Sub("snapshot/fs/etc/data"), "the container's files\n");
  // What a crashed shim leaves: the rootfs mounted under the shared dir, and state files.
  const std::string rootfs = tmp.Sub("state/crashed/shared/crashed/rootfs");
  kata::testing::MakeDirs(rootfs);
  kata::testing::WriteFile(tmp.Sub("state/crashed/qemu.pid"), "999999\n");
  REQUIRE(::mount(tmp.Sub("snapshot/fs").c_str(), rootfs.c_str(), nullptr, MS_BIND, nullptr) == 0);
  kata::testing::MakeDirs(tmp.Sub("bundle"));
  const std::string raw = Capture("KATA_CONF_FILE=" + tmp.Sub("config.yaml") + " " + std::string(KATA_SHIM_BIN) +
                                  " -namespace testns -address /none -id crashed -bundle " + tmp.Sub("bundle") + " delete");
  task::DeleteResponse resp;
  REQUIRE(resp.ParseFromString(raw));
  CHECK(kata::testing::ReadFile(tmp.Sub("snapshot/fs/etc/data")) == "the container's files\n");
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/crashed")));
  auto left = kata::mount::ListMountsUnder(tmp.path());
  REQUIRE(left.ok());
  CHECK(left->empty());
}
