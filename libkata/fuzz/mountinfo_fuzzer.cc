// /proc/<pid>/mountinfo as the kernel writes it (escaped paths, optional fields), read the
// way the shim and the tests read it: through libmount from a file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "libkata/mount/mountinfo.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("mountinfo", 0);
  KATA_FUZZ_CHECK(fd >= 0, "memfd_create");
  KATA_FUZZ_CHECK(::ftruncate(fd, 0) == 0, "ftruncate");
  KATA_FUZZ_CHECK(::pwrite(fd, data, size, 0) == static_cast<ssize_t>(size), "pwrite");
  auto table = kata::mount::ReadMountInfo("/proc/self/fd/" + std::to_string(fd));
  if (table.ok()) {
    for (const auto& e : *table) {
      // Every entry found under its own mount point (MountsUnder is how the shim's delete
      // finds what to detach).
      if (e.target.empty() || e.target.front() != '/') continue;
      const auto under = kata::mount::MountsUnder(*table, e.target);
      bool found = false;
      for (const auto& u : under) found = found || (u.id == e.id && u.target == e.target);
      KATA_FUZZ_CHECK(found, "a mount is not under its own mount point");
    }
  }
  return 0;
}
