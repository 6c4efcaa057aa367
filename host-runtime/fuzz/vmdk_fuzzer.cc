// The VMDK descriptor that joins a multi-layer rootfs's blobs into one disk for QEMU: the
// extents come from containerd's mount (source and device= options) and the blobs' sizes.
// Input: records of [8-byte size][1-byte path length][path]. A descriptor that is built must
// read back, line by line as QEMU's vmdk driver reads it, as exactly those files in order,
// each covered by its size in sectors.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "host-runtime/vm/vmdk.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kata::runtime::VmdkExtent;
  std::vector<VmdkExtent> extents;
  while (size >= 9 && extents.size() < 64) {
    uint64_t bytes;
    std::memcpy(&bytes, data, 8);
    const size_t len = std::min<size_t>(data[8], size - 9);
    extents.push_back({std::string(reinterpret_cast<const char*>(data) + 9, len), bytes});
    data += 9 + len;
    size -= 9 + len;
  }
  auto descriptor = kata::runtime::BuildVmdkDescriptor(extents);
  if (!descriptor.ok()) return 0;
  // QEMU reads the descriptor as a C string.
  KATA_FUZZ_CHECK(descriptor->find('\0') == std::string::npos, "NUL in a VMDK descriptor");

  // Extent lines: RW <sectors> FLAT "<path>" <offset>
  std::vector<std::pair<std::string, uint64_t>> files;  // path, sectors (merged while the path repeats)
  for (absl::string_view line : absl::StrSplit(*descriptor, '\n')) {
    if (!absl::StartsWith(line, "RW ")) continue;
    const size_t open = line.find('"'), close = line.rfind('"');
    KATA_FUZZ_CHECK(open != absl::string_view::npos && close > open, "an extent line without a quoted path");
    const std::vector<absl::string_view> head = absl::StrSplit(line.substr(0, open), ' ', absl::SkipEmpty());
    KATA_FUZZ_CHECK(head.size() == 3 && head[2] == "FLAT", "an extent line of another shape");
    uint64_t sectors = 0, offset = 0;
    KATA_FUZZ_CHECK(absl::SimpleAtoi(head[1], &sectors) && sectors > 0, "an extent of no sectors");
    KATA_FUZZ_CHECK(absl::SimpleAtoi(line.substr(close + 1), &offset), "an extent without an offset");
    const std::string path(line.substr(open + 1, close - open - 1));
    KATA_FUZZ_CHECK(path.find('"') == std::string::npos, "a quote inside an extent's path");
    if (!files.empty() && files.back().first == path && offset == files.back().second) {
      files.back().second += sectors;  // the next 2 GiB piece of the same file
    } else {
      KATA_FUZZ_CHECK(offset == 0, "a file's first extent does not start at its beginning");
      files.emplace_back(path, sectors);
    }
  }
  std::vector<std::pair<std::string, uint64_t>> want;
  for (const VmdkExtent& e : extents) {
    if (e.size_bytes == 0) continue;
    want.emplace_back(e.path, e.size_bytes / 512 + (e.size_bytes % 512 != 0));
  }
  KATA_FUZZ_CHECK(files == want, "the descriptor names other files or sizes than it was given");
  return 0;
}
