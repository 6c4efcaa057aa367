#include "libkata/ttrpc/frame.h"

#include "libkata/base/file_util.h"

namespace kata::ttrpc {
namespace {

void PutBe32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t GetBe32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

FrameHeader ParseFrameHeader(std::string_view bytes) {
  return {GetBe32(bytes, 0), GetBe32(bytes, 4), static_cast<uint8_t>(bytes[8]), static_cast<uint8_t>(bytes[9])};
}

std::string EncodeFrame(uint32_t stream_id, uint8_t type, uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  PutBe32(out, static_cast<uint32_t>(payload.size()));
  PutBe32(out, stream_id);
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.append(payload);
  return out;
}

absl::Status SendFrame(int fd, uint32_t stream_id, uint8_t type, std::string_view payload) {
  return SendAll(fd, EncodeFrame(stream_id, type, 0, payload), "a ttrpc frame");
}

void FrameReader::Feed(std::string_view bytes) {
  if (skip_left_ > 0) {
    const size_t n = std::min(skip_left_, bytes.size());
    skip_left_ -= n;
    bytes.remove_prefix(n);
  }
  buffer_.append(bytes);
}

std::optional<Frame> FrameReader::Next() {
  if (skipping_ && skip_left_ == 0) {
    std::optional<Frame> f = std::move(skipping_);
    skipping_.reset();
    // Bytes after the skipped payload were buffered by Feed only once skipping ended.
    return f;
  }
  if (skip_left_ > 0 || buffer_.size() < kHeaderSize) return std::nullopt;
  const FrameHeader header = ParseFrameHeader(buffer_);
  Frame f;
  f.declared_length = header.length;
  f.stream_id = header.stream_id;
  f.type = header.type;
  f.flags = header.flags;
  if (f.declared_length > kMaxPayload) {
    f.oversized = true;
    const size_t available = buffer_.size() - kHeaderSize;
    const size_t dropped = std::min<size_t>(available, f.declared_length);
    skip_left_ = f.declared_length - dropped;
    buffer_.erase(0, kHeaderSize + dropped);
    if (skip_left_ == 0) return f;
    skipping_ = std::move(f);
    return std::nullopt;
  }
  if (buffer_.size() < kHeaderSize + f.declared_length) return std::nullopt;
  f.payload = buffer_.substr(kHeaderSize, f.declared_length);
  buffer_.erase(0, kHeaderSize + f.declared_length);
  return f;
}

}  // namespace kata::ttrpc
