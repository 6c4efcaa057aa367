#pragma once

// Where one host connection ends and the next begins, in the byte stream of a virtio-serial
// port (pure). Every connection starts with the session preface
// (libkata/agent_api/serial_session.h); then come ttrpc frames. Within a session the splitter
// follows the frames, so a preface counts only where a frame would begin: the bytes of a
// frame's payload (a container's stdin) can never end the session. Bytes before the first
// preface (the tail of a session the agent already dropped) are discarded; so are the bytes
// after a header no host sends (a desync: the old connection's half frame ran into the new
// connection), up to the next preface.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kata::guest {

class SerialSessionSplitter {
 public:
  struct Piece {
    bool new_session = false;  // end the current session (if any) and start a new one here
    std::string data;          // ttrpc bytes for the (new or current) session
  };

  // Bytes read from the port, in order -> what to do with them. A preface or a frame header
  // split across calls is found.
  std::vector<Piece> Feed(std::string_view bytes);

  // The current session ended (the host went away, or the server closed it): bytes up to the
  // next preface are dropped.
  void EndSession();

  bool in_session() const { return in_session_; }

 private:
  // Consumes what it can of pending_ while searching; false when it needs more bytes.
  bool Search(std::vector<Piece>& out);
  // Consumes what it can of pending_ at a frame boundary; false when it needs more bytes.
  bool AtBoundary(std::vector<Piece>& out);
  void Deliver(std::vector<Piece>& out, std::string_view data);

  bool in_session_ = false;
  size_t payload_left_ = 0;  // bytes of the current frame's payload still to pass through
  std::string pending_;      // bytes not yet decided on: a possible preface or a header
};

}  // namespace kata::guest
