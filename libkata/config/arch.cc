#include "libkata/config/arch.h"

#include "libkata/base/str_cat.h"

namespace kata::config {

Arch HostArch() {
#if defined(__x86_64__)
  return Arch::kX86_64;
#elif defined(__aarch64__)
  return Arch::kAarch64;
#elif defined(__powerpc64__)
  return Arch::kPpc64le;
#elif defined(__s390x__)
  return Arch::kS390x;
#else
#error "unsupported architecture"
#endif
}

absl::StatusOr<Arch> ArchFromName(std::string_view name) {
  if (name == "x86_64" || name == "amd64") return Arch::kX86_64;
  if (name == "aarch64" || name == "arm64") return Arch::kAarch64;
  if (name == "ppc64le" || name == "ppc64el") return Arch::kPpc64le;
  if (name == "s390x") return Arch::kS390x;
  return absl::InvalidArgumentError(StrCat("unknown architecture \"", name, "\""));
}

std::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kX86_64: return "x86_64";
    case Arch::kAarch64: return "aarch64";
    case Arch::kPpc64le: return "ppc64le";
    case Arch::kS390x: return "s390x";
  }
  return "unknown";
}

uint64_t MemoryAlignmentMiB(Arch arch) {
  switch (arch) {
    case Arch::kPpc64le: return 256;
    case Arch::kS390x: return 1;
    case Arch::kX86_64:
    case Arch::kAarch64: return 2;
  }
  return 1;
}

uint64_t AlignMemoryMiB(uint64_t mib, Arch arch) {
  const uint64_t a = MemoryAlignmentMiB(arch);
  if (mib == 0) return a;
  return (mib + a - 1) / a * a;
}

}  // namespace kata::config
