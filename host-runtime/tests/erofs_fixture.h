#pragma once

// Test fixture, test code only: EROFS images for the VMDK path made with erofs-utils 1.5.
// 1.5 builds a metadata image plus one blob device (--chunksize --blobdev) but leaves the
// device slot's `blocks` and `mapped_blkaddr` at 0. A kernel mounting meta||blob as ONE
// device (what the VMDK gives the guest) needs mapped_blkaddr = the blob's first block in the
// concatenation and blocks = its size, with the superblock checksum (crc32c) recomputed;
// erofs-utils >= 1.8 writes these itself (../shared/reference/erofs-multi-layer.md). Without
// them 6.12 mounts and reads wrong data, so the tests compare file contents.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime::testing {

inline uint32_t Crc32c(const std::string& data, uint32_t crc = 0xffffffffu) {
  for (unsigned char b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return crc;  // no final inversion: the kernel's crc32c() and EROFS's checksum are raw
}

inline void PutLe32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline uint32_t GetLe32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Rewrites `meta` in place so that meta||blob mounts as one device.
inline absl::Status FlattenErofsDeviceTable(const std::string& meta, const std::string& blob) {
  constexpr size_t kSuper = 1024;
  auto image = kata::ReadFileToString(meta, 64u << 20);
  auto blob_image = kata::ReadFileToString(blob, 256u << 20);
  if (!image.ok()) return image.status();
  if (!blob_image.ok()) return blob_image.status();
  std::string& m = *image;
  if (m.size() < kSuper + 128 || GetLe32(m, kSuper) != 0xe0f5e1e2u) return absl::InvalidArgumentError(meta + ": not EROFS");
  const uint32_t block_size = 1u << static_cast<unsigned char>(m[kSuper + 12]);
  const uint16_t extra_devices = static_cast<uint16_t>(static_cast<unsigned char>(m[kSuper + 86]) | (static_cast<unsigned char>(m[kSuper + 87]) << 8));
  const uint16_t slot_off = static_cast<uint16_t>(static_cast<unsigned char>(m[kSuper + 88]) | (static_cast<unsigned char>(m[kSuper + 89]) << 8));
  if (extra_devices != 1) return absl::InvalidArgumentError(StrCat(meta, ": ", extra_devices, " extra devices, want 1"));
  if (m.size() % block_size != 0 || blob_image->size() % block_size != 0) return absl::InvalidArgumentError("unaligned images");
  const size_t slot = static_cast<size_t>(slot_off) * 128;
  PutLe32(m, slot + 64, static_cast<uint32_t>(blob_image->size() / block_size));  // blocks
  PutLe32(m, slot + 68, static_cast<uint32_t>(m.size() / block_size));            // mapped_blkaddr
  if (GetLe32(m, kSuper + 8) & 1u) {  // EROFS_FEATURE_COMPAT_SB_CHKSUM
    PutLe32(m, kSuper + 4, 0);
    PutLe32(m, kSuper + 4, Crc32c(m.substr(kSuper, block_size - kSuper)));
  }
  return kata::WriteFileAtomically(meta, m);
}

}  // namespace kata::runtime::testing
