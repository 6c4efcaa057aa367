#include "guest-agent/process/child_steps.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <grp.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace kata::guest {

const char* ChildStepName(int32_t step) {
  switch (step) {
    case kStepReady: return "ready";
    case kStepMountPrivate: return "set the propagation of / (linux.rootfsPropagation)";
    case kStepBindRootfs: return "bind the rootfs";
    case kStepMount: return "mount";
    case kStepMask: return "mask a path";
    case kStepReadonly: return "make a path read-only";
    case kStepHostname: return "set the hostname";
    case kStepPivotRoot: return "pivot_root";
    case kStepWaitStart: return "wait for start";
    case kStepSetns: return "join the container's namespaces";
    case kStepFork: return "fork into the PID namespace";
    case kStepStdio: return "set up stdio";
    case kStepOomScore: return "set oom_score_adj";
    case kStepRlimit: return "set an rlimit";
    case kStepBounding: return "drop bounding capabilities";
    case kStepGroups: return "set supplementary groups";
    case kStepGid: return "set gid";
    case kStepUid: return "set uid";
    case kStepCapabilities: return "set capabilities";
    case kStepAmbient: return "raise ambient capabilities";
    case kStepNoNewPrivs: return "set no_new_privs";
    case kStepCwd: return "change to the working directory";
    case kStepExec: return "exec the process";
    case kStepTerminal: return "make the pty the controlling terminal";
    case kStepCgroupns: return "enter a new cgroup namespace";
    case kStepCgroupJoin: return "join the container's cgroup";
    case kStepJoinNamespace: return "join the sandbox's namespace";
    case kStepLoopback: return "bring up lo";
    case kStepDevice: return "create a device node";
    case kStepSymlink: return "create a /dev symlink";
    case kStepConsole: return "create /dev/console";
    case kStepMakeCwd: return "create the working directory";
    case kStepReadonlyRoot: return "make the root read-only";
    case kStepDomainname: return "set the domainname";
    case kStepSysctl: return "set a sysctl";
    case kStepOpenRoot: return "open the container root";
    case kStepSeccomp: return "load the seccomp filter (linux.seccomp)";
  }
  return "unknown step";
}

void ChildFail(int status_fd, int32_t step, int err, int32_t index) noexcept {
  const ChildReport r{step, err, index};
  if (status_fd >= 0) (void)!::write(status_fd, &r, sizeof(r));
  ::_exit(127);
}

bool ChildAwaitByte(int fd) noexcept {
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

int ChildCloseFdsExcept(const int* keep, int n) noexcept {
  int sorted[16];
  if (n > 16) return EINVAL;
  int m = 0;
  for (int i = 0; i < n; ++i) {  // insertion sort: no allocation in a child
    int v = keep[i], j = m++;
    for (; j > 0 && sorted[j - 1] > v; --j) sorted[j] = sorted[j - 1];
    sorted[j] = v;
  }
  unsigned next = 3;  // the first fd not yet closed or kept
  for (int i = 0; i < m; ++i) {
    if (sorted[i] < 0 || static_cast<unsigned>(sorted[i]) < next) continue;
    const unsigned k = static_cast<unsigned>(sorted[i]);
    if (k > next && ::syscall(SYS_close_range, next, k - 1, 0u) != 0) return errno;
    next = k + 1;
  }
  if (::syscall(SYS_close_range, next, ~0u, 0u) != 0) return errno;
  return 0;
}

namespace {

// Moves fd `from` to `to` for the exec (dup2 clears CLOEXEC on the copy).
bool Dup(int from, int to) noexcept {
  if (from < 0) return true;
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;
  return ::dup2(from, to) == to;
}

int SetCaps(const CapabilitySets& c) noexcept {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(c.effective);
  data[1].effective = static_cast<uint32_t>(c.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(c.permitted);
  data[1].permitted = static_cast<uint32_t>(c.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(c.inheritable);
  data[1].inheritable = static_cast<uint32_t>(c.inheritable >> 32);
  return ::syscall(SYS_capset, &hdr, data) == 0 ? 0 : errno;
}

}  // namespace

void ChildBecomeProcess(const ExecPlan& plan, int status_fd, int stdin_fd, int stdout_fd,
                        int stderr_fd) noexcept {
  // The agent blocks SIGCHLD, SIGTERM and SIGINT for its signalfd and sigwait; a blocked mask
  // survives exec, and the container's process must start with none.
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) ChildFail(status_fd, kStepStdio, errno);
  // Ignored signals stay ignored across exec: the agent ignores SIGPIPE (a write to an exited
  // process's stdin must be an error, not its death), and whatever started the agent may
  // have ignored others. The container's process starts with every signal at its default.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old {};
    if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN && ::sigaction(sig, &dfl, nullptr) != 0) ChildFail(status_fd, kStepStdio, errno);
  }
  // A terminal's session: job control and ^C reach the process through it.
  if (plan.terminal && (::setsid() < 0 || ::ioctl(stdin_fd, TIOCSCTTY, 0) != 0)) ChildFail(status_fd, kStepTerminal, errno);
  if (!Dup(stdin_fd, 0) || !Dup(stdout_fd, 1) || !Dup(stderr_fd, 2)) ChildFail(status_fd, kStepStdio, errno);
  // Nothing of the agent's (sockets, other containers' pipes) may reach the process, whether
  // or not whoever opened it remembered O_CLOEXEC.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) ChildFail(status_fd, kStepStdio, errno);
  if (plan.set_oom_score_adj) {
    char buf[16];
    int len = 0;
    int v = plan.oom_score_adj;
    char digits[12];
    int nd = 0;
    const bool neg = v < 0;
    unsigned u = neg ? static_cast<unsigned>(-(v + 1)) + 1 : static_cast<unsigned>(v);
    do { digits[nd++] = static_cast<char>('0' + u % 10); u /= 10; } while (u && nd < 11);
    if (neg) buf[len++] = '-';
    while (nd) buf[len++] = digits[--nd];
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, buf, static_cast<size_t>(len)) != len) ChildFail(status_fd, kStepOomScore, errno);
    ::close(fd);
  }
  for (const auto& [resource, limit] : plan.rlimits) {
    if (::setrlimit(static_cast<__rlimit_resource>(resource), &limit) != 0) ChildFail(status_fd, kStepRlimit, errno, resource);
  }
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before any capability goes
  // (runc's order; the profile must then allow the setup's own syscalls, as under runc).
  if (!plan.no_new_privileges) {
    if (int err = LoadSeccompProgram(plan.seccomp); err != 0) ChildFail(status_fd, kStepSeccomp, err);
  }
  // Bounding set first: dropping needs CAP_SETPCAP, which the uid change may take away.
  for (int cap = 0; cap <= 63; ++cap) {
    if ((plan.caps.bounding >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) ChildFail(status_fd, kStepBounding, errno);
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) ChildFail(status_fd, kStepCapabilities, errno);
  // Raw syscalls, not glibc's wrappers: after a bare clone() glibc still believes in the
  // agent's other threads, and its wrappers broadcast the change to them and wait, forever,
  // for threads that are not in this process (a futex hang seen in the agent tests).
  if (::syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) != 0) ChildFail(status_fd, kStepGroups, errno);
  if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) ChildFail(status_fd, kStepGid, errno);
  if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) ChildFail(status_fd, kStepUid, errno);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) ChildFail(status_fd, kStepCapabilities, errno);
  if (int err = SetCaps(plan.caps); err != 0) ChildFail(status_fd, kStepCapabilities, err);
  for (int cap = 0; cap <= 63; ++cap) {
    if (!((plan.caps.ambient >> cap) & 1)) continue;
    // runc (and crun) raise what they can: an ambient capability that is not both permitted
    // and inheritable is EPERM, and runc's default spec lists such ones.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EPERM && errno != EINVAL) {
      ChildFail(status_fd, kStepAmbient, errno, cap);
    }
  }
  if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ChildFail(status_fd, kStepNoNewPrivs, errno);
  }
  if (::chdir(plan.cwd.c_str()) != 0) ChildFail(status_fd, kStepCwd, errno);
  ::umask(plan.umask);
  // With no_new_privs, as late as can be: the filter then only sees the exec and the process.
  if (plan.no_new_privileges) {
    if (int err = LoadSeccompProgram(plan.seccomp); err != 0) ChildFail(status_fd, kStepSeccomp, err);
  }
  int last = ENOENT;
  for (char* const* c = plan.candidates.data(); *c != nullptr; ++c) {
    ::execve(*c, plan.argv.data(), plan.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) last = errno;  // keep the most telling error
  }
  ChildFail(status_fd, kStepExec, last);
}

}  // namespace kata::guest
