#include "guest-agent/server/serial_session_splitter.h"

namespace kata::guest {

void SerialSessionSplitter::EndSession() {
  in_session_ = false;
  tail_.clear();
}

std::vector<SerialSessionSplitter::Piece> SerialSessionSplitter::Feed(std::string_view bytes) {
  std::vector<Piece> out;
  auto deliver = [&](std::string_view data) {
    if (!in_session_ || data.empty()) return;  // outside a session: dropped
    if (!out.empty()) {
      out.back().data.append(data);
    } else {
      out.push_back({false, std::string(data)});
    }
  };
  // The carried tail (already delivered or dropped) and the new bytes, searched together.
  std::string window = tail_;
  window.append(bytes);
  const size_t carried = tail_.size();
  size_t pos = carried;  // window[pos, ...) is not yet dealt with
  for (size_t at = window.find(kHttp2ClientPreface); at != std::string::npos;
       at = window.find(kHttp2ClientPreface, at + kHttp2ClientPreface.size())) {
    if (at > pos) deliver(std::string_view(window).substr(pos, at - pos));
    // A preface that began in the carried tail went partly to the old session; the new
    // session gets it whole.
    in_session_ = true;
    out.push_back({true, std::string(kHttp2ClientPreface)});
    pos = at + kHttp2ClientPreface.size();
  }
  if (pos < window.size()) deliver(std::string_view(window).substr(pos));
  // The preface does not overlap itself, so a match never starts inside an earlier one.
  const size_t keep = std::min(window.size(), kHttp2ClientPreface.size() - 1);
  tail_ = window.substr(window.size() - keep);
  return out;
}

}  // namespace kata::guest
