#include "host-runtime/hooks/oci_hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/time/clock.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("hooks");
constexpr int kDefaultTimeoutSeconds = 120;  // a hook without timeout must still end sometime

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string HookState(const oci::Spec& spec, const std::string& id, std::string_view status, pid_t pid,
                      const std::string& bundle) {
  nlohmann::json state = {{"ociVersion", spec.oci_version()}, {"id", id}, {"status", std::string(status)},
                          {"pid", pid},                       {"bundle", bundle}};
  nlohmann::json annotations = nlohmann::json::object();
  for (const auto& [k, v] : spec.annotations()) annotations[k] = v;
  state["annotations"] = annotations;
  return state.dump();
}

absl::Status RunHook(const oci::Hook& hook, const std::string& state, const std::string& what) {
  std::vector<std::string> argv(hook.args().begin(), hook.args().end());
  if (argv.empty()) argv.push_back(hook.path());
  std::vector<std::string> env(hook.env().begin(), hook.env().end());
  std::vector<char*> argv_c = CStrings(argv), env_c = CStrings(env);
  // stdin is a socket, so the state can be sent with MSG_NOSIGNAL: a hook that exits without
  // reading it must not kill the runtime with SIGPIPE.
  int in[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return ErrnoStatus(errno, StrCat(what, ": socketpair"));
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus(errno, StrCat(what, ": pipe"));
  UniqueFd err_r(err[0]), err_w(err[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, StrCat(what, ": fork"));
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(err_w.get(), 2);
    ::execve(hook.path().c_str(), argv_c.data(), env_c.data());
    ::_exit(127);
  }
  in_r.reset();
  err_w.reset();
  // A hook that does not read its state is not an error (EPIPE once it has gone).
  (void)SendAll(in_w.get(), state, "hook stdin");
  in_w.reset();
  const int timeout_s = hook.has_timeout() ? hook.timeout() : kDefaultTimeoutSeconds;
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  std::string stderr_text;
  bool timed_out = false;
  for (;;) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{err_r.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(err_r.get(), buf, sizeof(buf));
    if (n <= 0) break;  // EOF: the hook (and whatever kept its stderr) is done
    if (stderr_text.size() < 4096) stderr_text.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
  const std::string said = stderr_text.empty() ? "" : StrCat(": ", stderr_text);
  if (timed_out) return absl::DeadlineExceededError(StrCat(what, " (", hook.path(), ") did not end within ", timeout_s, "s"));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status)) {
    return absl::FailedPreconditionError(StrCat(what, " (", hook.path(), ") exited with ", WEXITSTATUS(status), said));
  }
  return absl::FailedPreconditionError(StrCat(what, " (", hook.path(), ") was killed by signal ", WTERMSIG(status), said));
}

absl::Status RunHooks(const google::protobuf::RepeatedPtrField<oci::Hook>& hooks, std::string_view list_name,
                      const std::string& state, bool stop_at_failure) {
  for (int i = 0; i < hooks.size(); ++i) {
    const std::string what = StrCat("hooks.", list_name, "[", i, "]");
    absl::Status s = RunHook(hooks[i], state, what);
    if (s.ok()) continue;
    if (stop_at_failure) return s;
    kLog.Warn("hook failed", {{"hook", what}, {"error", std::string(s.message())}});
  }
  return absl::OkStatus();
}

absl::Status CheckHooksSupported(const oci::Spec& spec) {
  if (spec.hooks().start_container_size() > 0) {
    return absl::InvalidArgumentError(
        "hooks.startContainer: would run in the guest's container, where the host's binaries are not; not supported");
  }
  return absl::OkStatus();
}

}  // namespace kata::runtime
