// The runtime's configuration file (YAML, as an operator edits it). What ConfigToYaml writes
// (kata-runtime env, saved defaults) must load back as the same configuration.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "libkata/config/config.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (kata::config::Arch arch : {kata::config::Arch::kX86_64, kata::config::Arch::kAarch64}) {
    auto config = kata::config::ParseConfigYaml(text, "fuzz", arch);
    if (!config.ok()) continue;
    const std::string written = kata::config::ConfigToYaml(*config);
    auto again = kata::config::ParseConfigYaml(written, "written back", arch);
    KATA_FUZZ_CHECK(again.ok(), "a configuration we wrote does not load");
    KATA_FUZZ_CHECK(kata::config::ConfigToYaml(*again) == written, "a configuration changed on its way back");
  }
  return 0;
}
