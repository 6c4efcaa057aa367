// The pod's pause process for the CRI tests' pause image (no registry is reachable here, so
// the project builds its own): it holds the pod's namespaces, reaps the orphans it inherits
// as PID 1 and exits on SIGINT or SIGTERM, as Kubernetes' pause does. Linked statically: the
// image holds nothing else.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

void Exit(int) { _exit(0); }

void Reap(int) {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

int main() {
  struct sigaction quit = {};
  quit.sa_handler = Exit;
  struct sigaction reap = {};
  reap.sa_handler = Reap;
  reap.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGINT, &quit, nullptr) != 0 || sigaction(SIGTERM, &quit, nullptr) != 0 ||
      sigaction(SIGCHLD, &reap, nullptr) != 0) {
    return 1;
  }
  for (;;) pause();
}
