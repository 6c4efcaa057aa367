// The shim's socket to containerd: a byte stream of ttrpc frames (10-byte header, payload).
// The reader must cut the same frames whatever sizes the reads come in, and a request
// frame's payload is parsed as ttrpc's Request. The first input byte seeds the read sizes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libkata/ttrpc/frame.h"
#include "libkata/testing/fuzz_check.h"
#include "protocols/ttrpc.pb.h"

namespace {

struct Cut {
  std::vector<kata::ttrpc::Frame> frames;
  bool mid_frame = false;
};

Cut ReadAll(std::string_view stream, uint8_t seed) {
  kata::ttrpc::FrameReader reader;
  Cut cut;
  uint32_t state = seed;
  while (true) {
    size_t n = stream.size();
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      n = std::min<size_t>(stream.size(), 1 + (state >> 16) % (seed % 64 + 1));
    }
    reader.Feed(stream.substr(0, n));
    stream.remove_prefix(n);
    while (auto f = reader.Next()) cut.frames.push_back(std::move(*f));
    if (stream.empty()) break;
  }
  cut.mid_frame = reader.mid_frame();
  return cut;
}

bool Same(const kata::ttrpc::Frame& a, const kata::ttrpc::Frame& b) {
  return a.stream_id == b.stream_id && a.type == b.type && a.flags == b.flags && a.payload == b.payload &&
         a.oversized == b.oversized && a.declared_length == b.declared_length;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Cut whole = ReadAll(stream, 0);
  const Cut pieces = ReadAll(stream, data[0]);
  KATA_FUZZ_CHECK(whole.frames.size() == pieces.frames.size(), "read sizes changed the number of frames");
  for (size_t i = 0; i < whole.frames.size(); ++i) {
    KATA_FUZZ_CHECK(Same(whole.frames[i], pieces.frames[i]), "read sizes changed a frame");
  }
  KATA_FUZZ_CHECK(whole.mid_frame == pieces.mid_frame, "read sizes changed where the stream stopped");

  // Frames without a skipped payload re-encode to the bytes they came from.
  std::string encoded;
  bool all_whole = true;
  for (const auto& f : whole.frames) {
    all_whole = all_whole && !f.oversized;
    encoded += kata::ttrpc::EncodeFrame(f.stream_id, f.type, f.flags, f.payload);
    if (f.type == kata::ttrpc::kTypeRequest) {
      ttrpc::Request request;
      if (request.ParseFromString(f.payload)) (void)request.DebugString();
    }
  }
  if (all_whole) KATA_FUZZ_CHECK(stream.starts_with(encoded), "frames do not re-encode to their bytes");
  return 0;
}
