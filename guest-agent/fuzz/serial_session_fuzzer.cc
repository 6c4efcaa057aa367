// The bytes a host writes to the agent's virtio-serial port, as the splitter sees them
// (serial_session_splitter.h): prefaces, ttrpc frames, junk. The first input byte picks the
// read sizes; the rest is the stream. Invariants: how the port's reads cut the stream does
// not change which bytes go to which session, and only bytes that follow a preface are
// ever delivered.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "guest-agent/server/serial_session_splitter.h"
#include "libkata/agent_api/serial_session.h"
#include "libkata/testing/fuzz_check.h"

namespace {

// Each session's bytes, reading `stream` in pieces whose sizes cycle through `sizes`.
std::vector<std::string> Sessions(std::string_view stream, const std::vector<size_t>& sizes, bool& in_session) {
  kata::guest::SerialSessionSplitter s;
  std::vector<std::string> sessions;
  size_t i = 0;
  while (!stream.empty()) {
    const size_t n = std::min(stream.size(), sizes[i++ % sizes.size()]);
    for (auto& piece : s.Feed(stream.substr(0, n))) {
      if (piece.new_session) sessions.emplace_back();
      KATA_FUZZ_CHECK(!sessions.empty() || piece.data.empty(), "bytes delivered before any preface");
      if (!sessions.empty()) sessions.back() += piece.data;
    }
    stream.remove_prefix(n);
  }
  in_session = s.in_session();
  return sessions;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  bool whole_in = false, cut_in = false, bytewise_in = false;
  const auto whole = Sessions(stream, {stream.size() + 1}, whole_in);
  const auto cut = Sessions(stream, {static_cast<size_t>(seed % 17) + 1, static_cast<size_t>(seed / 17) + 1}, cut_in);
  const auto bytewise = Sessions(stream, {1}, bytewise_in);
  KATA_FUZZ_CHECK(whole == cut && whole == bytewise, "the read sizes changed what a session received");
  KATA_FUZZ_CHECK(whole_in == cut_in && whole_in == bytewise_in, "the read sizes changed whether a session is open");
  if (stream.find(kata::agent_api::kSerialSessionPreface) == std::string_view::npos) {
    KATA_FUZZ_CHECK(whole.empty(), "a session without a preface");
  }
  return 0;
}
