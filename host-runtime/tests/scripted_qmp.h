#pragma once

// A QMP server for tests: listens on a unix socket, accepts one client, greets it, answers
// qmp_capabilities, then runs a script (replies in any order, events, errors, hanging up).

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "libkata/base/unique_fd.h"
#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"

namespace kata::runtime::testing {

using nlohmann::json;

inline constexpr char kGreeting[] =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}})";

// A QMP server: listens on a socket, accepts one client and runs `script` on it.
class ScriptedQmp {
 public:
  using Script = std::function<void(ScriptedQmp&)>;
  ScriptedQmp(const std::string& path, Script script) : path_(path) {
    auto listening = kata::ListenUnixSocket(path, SOCK_CLOEXEC, 1);
    REQUIRE(listening.ok());
    listen_ = std::move(*listening);
    thread_ = std::thread([this, script = std::move(script)] {
      conn_.reset(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn_.valid()) return;
      Send(kGreeting);
      json caps = Receive();
      if (caps.value("execute", "") == "qmp_capabilities") Send(json{{"return", json::object()}, {"id", caps["id"]}}.dump());
      script(*this);
    });
  }
  ~ScriptedQmp() {
    if (thread_.joinable()) thread_.join();
  }
  void Send(const std::string& line) { (void)!::write(conn_.get(), (line + "\r\n").data(), line.size() + 2); }
  // The next command the client sent (null on EOF).
  json Receive() {
    while (buf_.find('\n') == std::string::npos) {
      char c[4096];
      const ssize_t n = ::read(conn_.get(), c, sizeof(c));
      if (n <= 0) return nullptr;
      buf_.append(c, static_cast<size_t>(n));
    }
    const size_t nl = buf_.find('\n');
    json j = json::parse(buf_.substr(0, nl));
    buf_.erase(0, nl + 1);
    return j;
  }
  void SendRaw(const std::string& bytes) { (void)!::write(conn_.get(), bytes.data(), bytes.size()); }
  void Hangup() { conn_.reset(); }

 private:
  std::string path_;
  kata::UniqueFd listen_, conn_;
  std::thread thread_;
  std::string buf_;
};

inline std::string Event(const std::string& name, const json& data) {
  return json{{"event", name}, {"data", data}, {"timestamp", {{"seconds", 1700000000}, {"microseconds", 250000}}}}.dump();
}

}  // namespace kata::runtime::testing
