// kata-agent: PID 1 in the guest. The agent service arrives with the agent API issue.

#include <cstdio>
#include <string_view>

#include "kata_version.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--version" || a == "-V") {
      std::printf("kata-agent %s\n", KATA_VERSION);
      return 0;
    }
  }
  std::fprintf(stderr, "Usage: kata-agent [--version]\nkata-agent: the agent service is not built yet\n");
  return 2;
}
