#pragma once

// ttrpc framing (pure): a 10-byte big-endian header (payload length u32, stream id u32,
// type u8, flags u8), then the payload, at most 4 MiB. The reader takes bytes as they come
// (frames split or joined across reads) and turns an oversized frame into an event of its
// own after skipping its payload, so the connection survives it (ttrpc answers
// ResourceExhausted on that stream).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace kata::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxPayload = 4u << 20;
inline constexpr uint8_t kTypeRequest = 1;
inline constexpr uint8_t kTypeResponse = 2;
inline constexpr uint8_t kTypeData = 3;

struct FrameHeader {
  uint32_t length = 0;  // of the payload that follows
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

// The header at the start of `bytes`, which holds at least kHeaderSize of them.
FrameHeader ParseFrameHeader(std::string_view bytes);

struct Frame {
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  std::string payload;
  bool oversized = false;  // the payload was over kMaxPayload and was skipped (payload empty)
  uint32_t declared_length = 0;
};

std::string EncodeFrame(uint32_t stream_id, uint8_t type, uint8_t flags, std::string_view payload);

// Sends a whole frame on a socket; MSG_NOSIGNAL: a peer that left is an error, not SIGPIPE.
absl::Status SendFrame(int fd, uint32_t stream_id, uint8_t type, std::string_view payload);

class FrameReader {
 public:
  // Appends bytes; complete frames come out of Next().
  void Feed(std::string_view bytes);
  std::optional<Frame> Next();
  // Bytes of a frame begun but not finished (a peer that closes now closed mid-frame).
  bool mid_frame() const { return !buffer_.empty() || skip_left_ > 0; }

 private:
  std::string buffer_;
  size_t skip_left_ = 0;          // payload bytes of an oversized frame still to discard
  std::optional<Frame> skipping_; // its header, reported once the payload is gone
};

}  // namespace kata::ttrpc
