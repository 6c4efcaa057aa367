#include "host-runtime/vm/vmdk.h"

#include <sys/stat.h>

#include <cerrno>
#include <string_view>

#include "absl/strings/escaping.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kMaxExtentSectors = (2ull << 30) / kSector;
// 64 TiB: far above any layer, and it bounds the descriptor to 32768 extent lines.
constexpr uint64_t kMaxDiskSectors = (64ull << 40) / kSector;

}  // namespace

absl::StatusOr<std::string> BuildVmdkDescriptor(const std::vector<VmdkExtent>& extents) {
  std::string lines;
  uint64_t total_sectors = 0;
  for (const VmdkExtent& e : extents) {
    // QEMU reads the descriptor as a C string, line by line, the path between quotes: a NUL
    // would end the descriptor there (the stat() before us already cut the path at it).
    constexpr std::string_view kUnwritable("\"\n\r\0", 4);
    if (e.path.empty() || e.path.front() != '/' || e.path.find_first_of(kUnwritable) != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("VMDK extent \"", absl::CEscape(ToAbsl(e.path)), "\": want an absolute path without quotes, newlines or NUL"));
    }
    const uint64_t sectors = e.size_bytes / kSector + (e.size_bytes % kSector != 0 ? 1 : 0);
    if (sectors > kMaxDiskSectors || total_sectors + sectors > kMaxDiskSectors) {
      return absl::InvalidArgumentError(StrCat("VMDK extent ", e.path, ": the disk would exceed 64 TiB"));
    }
    for (uint64_t offset = 0, left = sectors; left > 0;) {
      const uint64_t n = std::min(left, kMaxExtentSectors);
      lines += StrCat("RW ", n, " FLAT \"", e.path, "\" ", offset, "\n");
      offset += n;
      left -= n;
      total_sectors += n;
    }
  }
  if (total_sectors == 0) return absl::InvalidArgumentError("a VMDK needs at least one non-empty file");
  // Geometry for IDE (16 heads, 63 sectors); QEMU ignores it, tools read it.
  const uint64_t cylinders = (total_sectors + 16 * 63 - 1) / (16 * 63);
  return StrCat("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n\n",
                "# Extent description\n", lines,
                "\n# The Disk Data Base\n#DDB\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"", cylinders,
                "\"\nddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n");
}

absl::Status WriteVmdkDescriptor(const std::string& descriptor_path, const std::vector<std::string>& files) {
  std::vector<VmdkExtent> extents;
  for (const std::string& f : files) {
    struct stat st;
    if (::stat(f.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("stat VMDK extent ", f));
    if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(StrCat("VMDK extent ", f, " is not a regular file"));
    extents.push_back({f, static_cast<uint64_t>(st.st_size)});
  }
  ASSIGN_OR_RETURN(std::string text, BuildVmdkDescriptor(extents));
  return WriteFileAtomically(descriptor_path, text, 0600);
}

}  // namespace kata::runtime
