#pragma once

// CRI's streaming Exec and Attach as kubectl reaches them: the URL containerd's Exec returns, opened as a
// WebSocket with Kubernetes' v4.channel.k8s.io protocol (each message's first byte names its
// stream: 1 stdout, 2 stderr, 3 the final status as JSON). A minimal client for the tests:
// no stdin, no TLS, frames read until the server closes.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <chrono>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kata::runtime::testing {

struct StreamedExec {
  std::string out, err, status;  // status: the v4 JSON (its details name the exit code)
  std::string error;             // why the stream could not be read, "" when it was
};

namespace ws_internal {

// Reads exactly `n` bytes before `deadline`; false on EOF, error or time-out.
inline bool ReadFull(int fd, std::string& into, size_t n, std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    const ssize_t got = ::read(fd, buf, std::min(n, sizeof(buf)));
    if (got <= 0) return false;
    into.append(buf, static_cast<size_t>(got));
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace ws_internal

// `url`: http://127.0.0.1:PORT/exec/TOKEN (or /attach/TOKEN), reachable from the calling
// thread's namespace. Read until the server closes, or (an attach, which never ends by
// itself) until stdout holds `until`.
inline StreamedExec StreamExec(const std::string& url, int timeout_seconds, const std::string& until = "") {
  StreamedExec r;
  const std::string prefix = "http://127.0.0.1:";
  const size_t slash = url.find('/', prefix.size());
  int port = 0;
  if (url.rfind(prefix, 0) != 0 || slash == std::string::npos || !absl::SimpleAtoi(url.substr(prefix.size(), slash - prefix.size()), &port)) {
    r.error = "not a loopback http URL: " + url;
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    r.error = "connect " + url;
    ::close(fd);
    return r;
  }
  const std::string request = absl::StrCat("GET ", url.substr(slash), " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                           "Sec-WebSocket-Key: a2F0YS1jcHAtY3JpLXRlc3Q=\r\nSec-WebSocket-Version: 13\r\n"
                                           "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n");
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    r.error = "send the upgrade";
    ::close(fd);
    return r;
  }
  // The response head, byte by byte up to its blank line: frames may follow in the same read.
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (!ws_internal::ReadFull(fd, head, 1, deadline) || head.size() > 8192) {
      r.error = "no upgrade response: " + head;
      ::close(fd);
      return r;
    }
  }
  if (head.find(" 101 ") == std::string::npos) {
    r.error = "not upgraded: " + head.substr(0, head.find("\r\n"));
    ::close(fd);
    return r;
  }
  for (;;) {
    std::string h;
    if (!ws_internal::ReadFull(fd, h, 2, deadline)) break;  // the server closed the connection
    const int opcode = h[0] & 0x0f;
    uint64_t length = h[1] & 0x7f;
    const size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
    std::string ext;
    if (extra > 0 && !ws_internal::ReadFull(fd, ext, extra, deadline)) break;
    if (extra > 0) {
      length = 0;
      for (unsigned char c : ext) length = length << 8 | c;
    }
    std::string payload;
    if (length > (64u << 20) || !ws_internal::ReadFull(fd, payload, static_cast<size_t>(length), deadline)) {
      r.error = "a frame cut short";
      break;
    }
    if (opcode == 0x8) break;  // close
    if ((opcode != 0x1 && opcode != 0x2) || payload.empty()) continue;
    const std::string data = payload.substr(1);
    switch (payload[0]) {
      case 1:
        r.out += data;
        if (!until.empty() && r.out.find(until) != std::string::npos) {
          ::close(fd);
          return r;
        }
        break;
      case 2: r.err += data; break;
      case 3: r.status += data; break;
      default: break;
    }
  }
  ::close(fd);
  return r;
}

}  // namespace kata::runtime::testing
