#pragma once

// Where one host connection ends and the next begins, in the byte stream of a virtio-serial
// port (pure). Every connection starts with the session preface
// (libkata/agent_api/serial_session.h); then come ttrpc frames. Within a session the splitter
// follows the frames, so a preface counts only where a frame would begin: the bytes of a
// frame's payload (a container's stdin) can never end the session. Bytes before the first
// preface (the tail of a session the agent already dropped) are discarded; so are the bytes
// after a header no host sends (a desync: the old connection's half frame ran into the new
// connection), up to the next preface.
//
// The port's "host closed" can also arrive late: the guest reads a new connection's bytes as
// they come, but learns of the old connection's close from a control message that a kernel
// worker handles later, so the close may be seen after the new connection's preface. A
// hangup is therefore taken as certain only when the current session began after the last
// one was seen; otherwise the session waits for the host's next bytes: a preface means the
// host really went (a new session starts), anything else continues this session.

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

  // The current session ended (the server closed it, or writing to the host failed): bytes
  // up to the next preface are dropped.
  void EndSession();

  // The port says the host went away. True when the session ends here (as EndSession); false
  // when the hangup may be the previous connection's seen late, so the session is undecided
  // until the host's next bytes.
  bool HostHungUp();

  bool in_session() const { return in_session_; }
  // Until the host's next bytes decide, nothing may be written to the port: a new host must
  // not receive the old session's replies.
  bool undecided() const { return undecided_; }

 private:
  // Consumes what it can of pending_ while searching; false when it needs more bytes.
  bool Search(std::vector<Piece>& out);
  // Consumes what it can of pending_ at a frame boundary; false when it needs more bytes.
  bool AtBoundary(std::vector<Piece>& out);
  // Consumes what it can of pending_ while undecided; false when it needs more bytes.
  bool Decide(std::vector<Piece>& out);
  void StartSession(std::vector<Piece>& out);
  void Deliver(std::vector<Piece>& out, std::string_view data);

  bool in_session_ = false;
  bool undecided_ = false;
  // Whether a hangup was seen since the current session began, and whether the session began
  // before the previous connection's hangup was seen (so the next one may be that).
  bool hangup_seen_ = true;
  bool hangup_owed_ = false;
  size_t payload_left_ = 0;  // bytes of the current frame's payload still to pass through
  std::string pending_;      // bytes not yet decided on: a possible preface or a header
};

}  // namespace kata::guest
