// containerd-shim-kata-v2: the binary containerd launches for runtime io.containerd.kata.v2.
// `start` and `delete` are containerd's commands; `serve` is the daemon `start` spawns.

#include <cstdio>
#include <string>
#include <string_view>

#include "host-runtime/shim/shim_commands.h"
#include "kata_version.h"

int main(int argc, char** argv) {
  kata::shim::ShimFlags flags;
  std::string action;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "-v" || a == "--version" || a == "-version") {
      std::printf("containerd-shim-kata-v2:\n  Version: %s\n", KATA_VERSION);
      return 0;
    } else if (a == "-info") {
      return kata::shim::PrintRuntimeInfo();
    } else if (a == "-namespace") {
      flags.ns = value();
    } else if (a == "-id") {
      flags.id = value();
    } else if (a == "-address") {
      flags.address = value();
    } else if (a == "-publish-binary") {
      flags.publish_binary = value();
    } else if (a == "-bundle") {
      flags.bundle = value();
    } else if (a == "-debug") {
      flags.debug = true;
    } else if (!a.starts_with("-") && action.empty()) {
      action = a;
    }  // flags of newer containerds are ignored, as the shim v2 contract asks
  }
  if (flags.id.empty() || action.empty()) {
    std::fprintf(stderr, "Usage: containerd-shim-kata-v2 -namespace NS -id ID -address ADDR [-bundle DIR] start|delete\n");
    return 2;
  }
  if (action == "start") return kata::shim::StartShim(flags, argv[0]);
  if (action == "delete") return kata::shim::DeleteShim(flags);
  if (action == "serve") return kata::shim::ServeShim(flags);
  std::fprintf(stderr, "containerd-shim-kata-v2: unknown action %s\n", action.c_str());
  return 2;
}
