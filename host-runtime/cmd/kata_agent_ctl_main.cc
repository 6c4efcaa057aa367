// kata-agent-ctl: the agent debugging CLI. Commands arrive with the agent API issue.

#include <cstdio>
#include <string_view>

#include "kata_version.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--version" || a == "-V") {
      std::printf("kata-agent-ctl %s\n", KATA_VERSION);
      return 0;
    }
  }
  std::fprintf(stderr,
               "Usage: kata-agent-ctl --server-address ADDR run -c COMMAND...\n"
               "       kata-agent-ctl --version\n"
               "kata-agent-ctl: agent commands are not built yet\n");
  return 2;
}
