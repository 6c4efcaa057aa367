// config.json as runc, containerd's CRI, docker or podman write it: parsed, validated, written
// back and parsed again. What the runtime writes out (the guest's spec, a saved state) must
// read back as the same spec.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "libkata/oci/spec.h"
#include "libkata/oci/validate.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto spec = kata::oci::ParseSpecJson(json, "fuzz");
  if (spec.ok()) {
    (void)kata::oci::ValidateSpec(*spec);
    const std::string written = kata::oci::SpecToJson(*spec, /*pretty=*/false);
    auto again = kata::oci::ParseSpecJson(written, "written back");
    KATA_FUZZ_CHECK(again.ok(), "a spec we wrote does not parse");
    KATA_FUZZ_CHECK(kata::oci::SpecToJson(*again, false) == written, "a spec changed on its way back");
  }
  (void)kata::oci::ParseLinuxResourcesJson(json, "fuzz");  // the shim's Update(resources)
  return 0;
}
