#pragma once

// Where one host connection ends and the next begins, in the byte stream of a virtio-serial
// port (pure). The port has no connection boundaries: the guest hears "host closed" and "host
// open" as port events, and when the host leaves and comes back quickly both can pass before
// the agent looks, so old and new bytes run together. Every gRPC connection starts with the
// HTTP/2 client preface, sent once per connection: a preface in the stream starts a session;
// bytes before the first one (the tail of a session the agent already dropped) are discarded.

#include <string>
#include <string_view>
#include <vector>

namespace kata::guest {

inline constexpr std::string_view kHttp2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class SerialSessionSplitter {
 public:
  struct Piece {
    bool new_session = false;  // end the current session (if any) and start a new one here
    std::string data;          // bytes for the (new or current) session
  };

  // Bytes read from the port, in order -> what to do with them. A preface split across calls
  // is found; the bytes of it already handed to the old session are given to the new one too.
  std::vector<Piece> Feed(std::string_view bytes);

  // The current session ended (the host went away, or the server closed it): bytes up to the
  // next preface are dropped.
  void EndSession();

  bool in_session() const { return in_session_; }

 private:
  bool in_session_ = false;
  std::string tail_;  // the last bytes seen, < preface size: a preface may continue in the next read
};

}  // namespace kata::guest
