// containerd-shim-kata-v2: the binary containerd launches. The shim v2 commands (start,
// delete, the ttrpc daemon) arrive with the containerd issue; until then it answers only
// what does not need them.

#include <cstdio>
#include <string_view>

#include "kata_version.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-v" || a == "--version" || a == "-version") {
      std::printf("containerd-shim-kata-v2:\n  Version: %s\n", KATA_VERSION);
      return 0;
    }
  }
  std::fprintf(stderr,
               "Usage: containerd-shim-kata-v2 [-namespace NS] [-id ID] [-address ADDR] "
               "start|delete\n       containerd-shim-kata-v2 -v\n"
               "containerd-shim-kata-v2: the task service is not built yet\n");
  return 2;
}
