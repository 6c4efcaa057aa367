// A mount's options as a spec, a containerd Mount or an agent Storage carries them: one per
// line of the input. The kernel's flags and data must account for every option given.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "libkata/mount/options.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> options = absl::StrSplit(text, '\n');
  const kata::mount::SplitResult split = kata::mount::SplitKataMarkers(options);
  KATA_FUZZ_CHECK(split.mount_options.size() + split.markers.size() == options.size(),
                  "an option was lost or invented by SplitKataMarkers");
  for (const std::string& m : split.markers) KATA_FUZZ_CHECK(kata::mount::IsKataMarker(m), "a marker is not one");
  auto parsed = kata::mount::ParseMountOptions(split.mount_options);
  if (parsed.ok()) {
    // Data goes to mount(2) as a C string: an embedded NUL would cut it silently.
    KATA_FUZZ_CHECK(parsed->data.find('\0') == std::string::npos, "NUL in mount data");
  }
  if (!options.empty()) {
    const std::string& first = options.front();
    const std::string key = first.substr(0, first.find('='));
    (void)kata::mount::FindOptionValue(options, key);
    (void)kata::mount::FindAllOptionValues(options, key);
  }
  return 0;
}
