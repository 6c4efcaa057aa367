#include "guest-agent/server/serial_session_splitter.h"

#include <algorithm>

#include "libkata/agent_api/serial_session.h"
#include "libkata/ttrpc/frame.h"

namespace kata::guest {
namespace {

using agent_api::kSerialSessionPreface;

// A header a host sends: a request (or stream data) within the size limit.
bool PlausibleHeader(std::string_view h) {
  const ttrpc::FrameHeader header = ttrpc::ParseFrameHeader(h);
  return header.length <= ttrpc::kMaxPayload && (header.type == ttrpc::kTypeRequest || header.type == ttrpc::kTypeData);
}

}  // namespace

void SerialSessionSplitter::EndSession() {
  in_session_ = false;
  undecided_ = false;
  payload_left_ = 0;
  pending_.clear();
}

bool SerialSessionSplitter::HostHungUp() {
  if (in_session_ && hangup_owed_) {
    hangup_owed_ = false;
    undecided_ = true;
    return false;
  }
  hangup_seen_ = true;
  EndSession();
  return true;
}

void SerialSessionSplitter::StartSession(std::vector<Piece>& out) {
  in_session_ = true;
  undecided_ = false;
  payload_left_ = 0;
  hangup_owed_ = !hangup_seen_;
  hangup_seen_ = false;
  out.push_back({true, ""});
}

void SerialSessionSplitter::Deliver(std::vector<Piece>& out, std::string_view data) {
  if (data.empty()) return;
  if (out.empty()) out.push_back({false, ""});
  out.back().data.append(data);
}

bool SerialSessionSplitter::Search(std::vector<Piece>& out) {
  const size_t at = pending_.find(kSerialSessionPreface);
  if (at == std::string::npos) {
    // Keep what could be the start of a preface; the rest is dropped.
    const size_t keep = std::min(pending_.size(), kSerialSessionPreface.size() - 1);
    pending_.erase(0, pending_.size() - keep);
    return false;
  }
  pending_.erase(0, at + kSerialSessionPreface.size());
  StartSession(out);
  return true;
}

bool SerialSessionSplitter::Decide(std::vector<Piece>& out) {
  const size_t n = std::min(pending_.size(), kSerialSessionPreface.size());
  if (pending_.compare(0, n, kSerialSessionPreface.substr(0, n)) != 0) {
    undecided_ = false;  // the same host: the hangup was the previous connection's
    return true;
  }
  if (n < kSerialSessionPreface.size()) return false;
  pending_.erase(0, kSerialSessionPreface.size());
  hangup_seen_ = true;  // it was this session's hangup
  StartSession(out);
  return true;
}

bool SerialSessionSplitter::AtBoundary(std::vector<Piece>& out) {
  const size_t n = std::min(pending_.size(), kSerialSessionPreface.size());
  if (pending_.compare(0, n, kSerialSessionPreface.substr(0, n)) == 0) {
    if (n < kSerialSessionPreface.size()) return false;  // a preface, maybe: wait for the rest
    pending_.erase(0, kSerialSessionPreface.size());
    StartSession(out);  // a new connection, seen by its preface alone
    return true;
  }
  if (pending_.size() < ttrpc::kHeaderSize) return false;
  if (!PlausibleHeader(pending_)) {
    // Not a frame: the stream lost its place. Drop the session; its server sees the end.
    in_session_ = false;
    payload_left_ = 0;
    pending_.erase(0, 1);
    return true;
  }
  payload_left_ = ttrpc::ParseFrameHeader(pending_).length;
  Deliver(out, std::string_view(pending_).substr(0, ttrpc::kHeaderSize));
  pending_.erase(0, ttrpc::kHeaderSize);
  return true;
}

std::vector<SerialSessionSplitter::Piece> SerialSessionSplitter::Feed(std::string_view bytes) {
  std::vector<Piece> out;
  for (;;) {
    if (undecided_) {
      // Even mid-frame: the previous host may have left in the middle of one.
      pending_.append(bytes);
      bytes = {};
      if (!Decide(out)) break;
      continue;
    }
    if (in_session_ && payload_left_ > 0) {
      // Payload passes straight through, whatever it holds.
      const size_t from_pending = std::min(payload_left_, pending_.size());
      Deliver(out, std::string_view(pending_).substr(0, from_pending));
      pending_.erase(0, from_pending);
      payload_left_ -= from_pending;
      const size_t from_bytes = std::min(payload_left_, bytes.size());
      Deliver(out, bytes.substr(0, from_bytes));
      bytes.remove_prefix(from_bytes);
      payload_left_ -= from_bytes;
      if (payload_left_ > 0) break;
      continue;
    }
    pending_.append(bytes);
    bytes = {};
    const bool progressed = in_session_ ? AtBoundary(out) : Search(out);
    if (!progressed) break;
  }
  return out;
}

}  // namespace kata::guest
