#include "guest-agent/process/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <cstring>
#include <vector>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_plan_builder.h"
#include "guest-agent/setup/init_steps.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

struct Pipe {
  UniqueFd r, w;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// What the child reads: the plan and the fds it keeps.
struct InitArgs {
  InitPlan* plan;
  int stdin_r, stdout_w, stderr_w, start_r, status_w;
  int released_r;  // one byte once the agent has written our id maps and moved us into our cgroup
};

int InitMain(void* arg) {
  const InitArgs& a = *static_cast<InitArgs*>(arg);
  const InitPlan& p = *a.plan;
  const int st = a.status_w;
  // Cloned, it holds a copy of every fd the agent had open: it keeps its own only.
  const int keep[] = {a.stdin_r, a.stdout_w, a.stderr_w, a.start_r, a.status_w, a.released_r};
  if (int err = ChildCloseFdsExcept(keep, 6); err != 0) ChildFail(st, kStepStdio, err);
  // The agent could not map our ids or place us in our cgroup: go without a word.
  if (!ChildAwaitByte(a.released_r)) ::_exit(127);
  // A cgroup namespace made now has our own cgroup as its root, not the agent's.
  if (p.unshare_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0) ChildFail(st, kStepCgroupns, errno);
  RunInitSetup(p, st);
  const ChildReport ready{kStepReady, 0, -1};
  if (::write(st, &ready, sizeof(ready)) != sizeof(ready)) ::_exit(127);
  if (!ChildAwaitByte(a.start_r)) ::_exit(127);  // the agent gave up on us: never run the process
  ::close(a.start_r);
  ChildBecomeProcess(p.exec, st, a.stdin_r, a.stdout_w, a.stderr_w);
}

// Reads one ChildReport, or EOF, within `timeout`.
absl::StatusOr<std::optional<ChildReport>> ReadReport(int fd, absl::Duration timeout, std::string_view what) {
  pollfd p{fd, POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int r;
  do {
    r = ::poll(&p, 1, ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return absl::DeadlineExceededError(StrCat(what, ": no answer within ", absl::FormatDuration(timeout)));
  ChildReport report;
  ssize_t n;
  do {
    n = ::read(fd, &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return std::optional<ChildReport>();
  if (n != sizeof(report)) return absl::InternalError(StrCat(what, ": short report from the child"));
  return std::optional<ChildReport>(report);
}

// `program`: the exec's, named when the exec step fails (as runc names it: a command not
// found is the commonest failure a user sees).
absl::Status ReportError(const ChildReport& r, std::string_view what, const InitPlan* plan = nullptr,
                         std::string_view program = "") {
  std::string item = plan != nullptr ? DescribeSetupItem(*plan, r.step, r.index) : "";
  if (r.step == kStepExec && !program.empty()) item = StrCat(" ", program);
  return ErrnoStatus(r.err, StrCat(what, ": ", ChildStepName(r.step), item));
}

std::string ProgramOf(const ExecPlan& exec) { return exec.argv_storage.empty() ? "" : exec.argv_storage[0]; }

struct StdioPipes {
  Pipe in, out, err;
  std::string pty_name;  // a terminal's slave, /dev/pts/N
};

// A new pty: the slave serves as the child's stdin, stdout and stderr; the agent writes
// the input to and reads the output from the master (stderr merges into it, as on any
// terminal).
absl::StatusOr<StdioPipes> MakeTerminal(uint16_t rows, uint16_t columns) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return ErrnoStatus(errno, "open a pty");
  char name[64];
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 || ::ptsname_r(master.get(), name, sizeof(name)) != 0) {
    return ErrnoStatus(errno, "unlock the pty");
  }
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) return ErrnoStatus(errno, StrCat("open ", name));
  if (rows != 0 || columns != 0) {  // process.consoleSize
    struct winsize ws {};
    ws.ws_row = rows;
    ws.ws_col = columns;
    if (::ioctl(master.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus(errno, "set the terminal's size");
  }
  StdioPipes s;
  s.out.w = UniqueFd(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 0));
  s.err.w = UniqueFd(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 0));
  s.in.w = UniqueFd(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
  if (!s.out.w.valid() || !s.err.w.valid() || !s.in.w.valid()) return ErrnoStatus(errno, "dup the pty");
  s.in.r = std::move(slave);
  s.out.r = std::move(master);
  s.pty_name = name;
  return s;
}

absl::StatusOr<StdioPipes> MakeStdio(const ExecPlan& plan) {
  if (plan.terminal) return MakeTerminal(plan.console_rows, plan.console_columns);
  StdioPipes s;
  for (Pipe* p : {&s.in, &s.out, &s.err}) {
    auto made = MakePipe();
    if (!made.ok()) return made.status();
    *p = std::move(*made);
  }
  return s;
}

}  // namespace

absl::StatusOr<Launched> LaunchInit(InitPlan& plan, int cgroup_procs_fd, absl::Duration timeout, const OnPid& on_pid) {
  auto stdio = MakeStdio(plan.exec);
  if (!stdio.ok()) return stdio.status();
  auto start = MakePipe();
  auto status = MakePipe();
  auto released = MakePipe();
  if (!start.ok()) return start.status();
  if (!status.ok()) return status.status();
  if (!released.ok()) return released.status();
  const bool userns = (plan.clone_flags & CLONE_NEWUSER) != 0;
  // Cloned into a cgroup namespace, the init would have the agent's cgroup as its root:
  // it unshares one itself once it is in its own cgroup.
  plan.unshare_cgroupns = cgroup_procs_fd >= 0 && (plan.clone_flags & CLONE_NEWCGROUP) != 0;
  const int clone_flags = plan.unshare_cgroupns ? plan.clone_flags & ~CLONE_NEWCGROUP : plan.clone_flags;
  plan.console_source = plan.exec.terminal ? stdio->pty_name : "";
  InitArgs args{&plan, stdio->in.r.get(), stdio->out.w.get(), stdio->err.w.get(), start->r.get(), status->w.get(),
                released->r.get()};
  std::vector<char> stack(256 * 1024);
  std::vector<UniqueFd> join_fds;
  for (NamespaceJoin& j : plan.joins) {
    join_fds.emplace_back(::open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!join_fds.back().valid()) return ErrnoStatus(errno, StrCat("open the sandbox's namespace ", j.path));
    j.fd = join_fds.back().get();
  }
  pid_t pid = -1;
  if (plan.joins.empty()) {
    pid = ::clone(InitMain, stack.data() + stack.size(), clone_flags | SIGCHLD, &args);
    if (pid < 0) return ErrnoStatus(errno, "clone the container init");
  } else {
    auto pid_pipe = MakePipe();
    if (!pid_pipe.ok()) return pid_pipe.status();
    const pid_t middle = ::fork();
    if (middle < 0) return ErrnoStatus(errno, "fork to join the sandbox's namespaces");
    if (middle == 0) {
      JoinNamespaces(plan.joins, status->w.get());
      const pid_t init = ::clone(InitMain, stack.data() + stack.size(), clone_flags | SIGCHLD, &args);
      if (init < 0) ChildFail(status->w.get(), kStepFork, errno);
      (void)!::write(pid_pipe->w.get(), &init, sizeof(init));
      ::_exit(0);
    }
    on_pid(middle, false);
    pid_pipe->w.reset();
    ssize_t n;
    do {
      n = ::read(pid_pipe->r.get(), &pid, sizeof(pid));
    } while (n < 0 && errno == EINTR);
    if (n != sizeof(pid)) {
      status->w.reset();
      auto report = ReadReport(status->r.get(), timeout, "create the container init");
      if (report.ok() && *report) return ReportError(**report, "create the container init", &plan);
      return absl::InternalError("create the container init: the middle process died before cloning it");
    }
  }
  on_pid(pid, true);
  // Our copies of the child's ends go, so EOF means the child is gone.
  stdio->in.r.reset();
  stdio->out.w.reset();
  stdio->err.w.reset();
  start->r.reset();
  status->w.reset();
  released->r.reset();
  if (userns) {
    // The child waits for its maps: until then it has no uids in its namespace.
    for (const auto& [file, map] : {std::pair<const char*, const std::string*>{"uid_map", &plan.uid_map},
                                    {"gid_map", &plan.gid_map}}) {
      const std::string path = StrCat("/proc/", pid, "/", file);
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      absl::Status written = fd.valid() ? WriteAll(fd.get(), *map, path) : ErrnoStatus(errno, StrCat("open ", path));
      if (!written.ok()) {
        ::kill(pid, SIGKILL);
        return absl::Status(written.code(), StrCat("map the container's user namespace: ", ToStd(written.message())));
      }
    }
  }
  if (cgroup_procs_fd >= 0) {
    const std::string pid_text = std::to_string(pid);
    if (::write(cgroup_procs_fd, pid_text.data(), pid_text.size()) != static_cast<ssize_t>(pid_text.size())) {
      const int err = errno;
      ::kill(pid, SIGKILL);
      return ErrnoStatus(err, "move the container init into its cgroup");
    }
  }
  const char go = 1;
  if (::write(released->w.get(), &go, 1) != 1) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    return ErrnoStatus(err, "release the container init");
  }
  Launched l{pid, std::move(stdio->in.w), std::move(stdio->out.r), std::move(stdio->err.r), std::move(start->w),
             std::move(status->r), plan.exec.terminal, ProgramOf(plan.exec)};
  auto report = ReadReport(l.status_r.get(), timeout, "create the container init");
  if (!report.ok() || !*report || (*report)->step != kStepReady) {
    ::kill(pid, SIGKILL);
    if (!report.ok()) return report.status();
    if (!*report) return absl::InternalError("create the container init: it died during setup");
    return ReportError(**report, "create the container init", &plan);
  }
  return l;
}

// What a process is doing, for an error about it: "state S (sleeping), waiting in
// pipe_read, running sleep 1000".
std::string DescribeProcess(pid_t pid) {
  auto status = ReadFileToString(StrCat("/proc/", pid, "/status"), 1 << 16);
  auto wchan = ReadFileToString(StrCat("/proc/", pid, "/wchan"), 256);
  auto cmdline = ReadFileToString(StrCat("/proc/", pid, "/cmdline"), 4096);
  if (!status.ok()) return StrCat("process ", pid, " is gone");
  std::string state = "state ?";
  if (size_t at = status->find("State:\t"); at != std::string::npos) state = status->substr(at + 7, status->find('\n', at) - at - 7);
  std::string cmd = cmdline.ok() ? *cmdline : "";
  for (char& c : cmd) if (c == '\0') c = ' ';
  return StrCat("process ", pid, " state ", state, ", waiting in ", wchan.ok() ? *wchan : "?", ", running ", cmd);
}

absl::Status StartInit(Launched& init, absl::Duration timeout) {
  const char go = 1;
  if (::write(init.start_w.get(), &go, 1) != 1) return ErrnoStatus(errno, "tell the container init to start");
  init.start_w.reset();
  auto report = ReadReport(init.status_r.get(), timeout, "start the container process");
  init.status_r.reset();
  if (!report.ok()) {
    return absl::Status(report.status().code(), StrCat(ToStd(report.status().message()), " (", DescribeProcess(init.pid), ")"));
  }
  if (*report) return ReportError(**report, "start the container process", nullptr, init.program);
  return absl::OkStatus();  // EOF: the exec closed the CLOEXEC status pipe
}

absl::StatusOr<Launched> LaunchExec(pid_t init_pid, ExecPlan& plan, int cgroup_procs_fd, absl::Duration timeout,
                                    const OnPid& on_pid) {
  // Namespace fds opened here, joined in the child: the user namespace first (it grants the
  // rights to join the others), mnt last (it changes what paths mean). Namespaces the
  // container shares with the agent are skipped: joining the user namespace one is in is
  // EINVAL, and once in the container's user namespace the agent's own (say, the network
  // namespace the container did not get a new one of) can no longer be joined.
  std::vector<UniqueFd> ns;
  for (const char* name : {"user", "ipc", "uts", "net", "pid", "cgroup", "mnt"}) {
    const std::string path = StrCat("/proc/", init_pid, "/ns/", name);
    struct stat theirs, ours;
    if (::stat(path.c_str(), &theirs) == 0 && ::stat(StrCat("/proc/self/ns/", name).c_str(), &ours) == 0 &&
        theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
      continue;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, StrCat("open the container's ", name, " namespace"));
    ns.push_back(std::move(fd));
  }
  auto stdio = MakeStdio(plan);
  auto status = MakePipe();
  auto pid_pipe = MakePipe();
  if (!stdio.ok()) return stdio.status();
  if (!status.ok()) return status.status();
  if (!pid_pipe.ok()) return pid_pipe.status();
  std::vector<int> ns_fds;
  for (auto& fd : ns) ns_fds.push_back(fd.get());
  const pid_t middle = ::fork();
  if (middle < 0) return ErrnoStatus(errno, "fork for exec");
  if (middle == 0) {
    const int st = status->w.get();
    // Into the container's cgroup first ("0" is the writer), so the process forked below
    // starts there and nothing it does escapes the container's limits.
    if (cgroup_procs_fd >= 0 && ::write(cgroup_procs_fd, "0", 1) != 1) ChildFail(st, kStepCgroupJoin, errno);
    for (int fd : ns_fds) {
      if (::setns(fd, 0) != 0) ChildFail(st, kStepSetns, errno);
    }
    // setns(CLONE_NEWPID) applies to children: fork once more to be inside.
    const pid_t child = ::fork();
    if (child < 0) ChildFail(st, kStepFork, errno);
    if (child == 0) ChildBecomeProcess(plan, st, stdio->in.r.get(), stdio->out.w.get(), stdio->err.w.get());
    (void)!::write(pid_pipe->w.get(), &child, sizeof(child));
    ::_exit(0);
  }
  on_pid(middle, false);  // the reaper collects the middle process; nobody waits for it
  stdio->in.r.reset();
  stdio->out.w.reset();
  stdio->err.w.reset();
  status->w.reset();
  pid_pipe->w.reset();
  pid_t pid = -1;
  ssize_t n = -1;
  // Bounded: a middle process that cannot go on (say, frozen with the cgroup it joined) must
  // not hold its caller forever.
  pollfd ready{pid_pipe->r.get(), POLLIN, 0};
  int polled;
  do {
    polled = ::poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  } while (polled < 0 && errno == EINTR);
  if (polled == 0) {
    ::kill(middle, SIGKILL);  // still ours to signal: it has not written, so it has not exited
    return absl::DeadlineExceededError(StrCat("exec in the container: no process within ", absl::FormatDuration(timeout),
                                              " (", DescribeProcess(middle), ")"));
  }
  do {
    n = ::read(pid_pipe->r.get(), &pid, sizeof(pid));
  } while (n < 0 && errno == EINTR);
  Launched l{n == sizeof(pid) ? pid : -1, std::move(stdio->in.w), std::move(stdio->out.r), std::move(stdio->err.r), {}, {},
             plan.terminal, ProgramOf(plan)};
  if (l.pid > 0) on_pid(l.pid, true);
  auto report = ReadReport(status->r.get(), timeout, "exec in the container");
  if (!report.ok()) {
    if (l.pid > 0) ::kill(l.pid, SIGKILL);
    return report.status();
  }
  if (*report) return ReportError(**report, "exec in the container", nullptr, l.program);
  if (l.pid <= 0) return absl::InternalError("exec in the container: no pid from the forking child");
  return l;
}

}  // namespace kata::guest
