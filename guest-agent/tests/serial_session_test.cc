// Telling host connections apart on a virtio-serial port (pure): the session preface, and
// ttrpc frames followed so that a payload can never end a session.

#include <string>
#include <vector>

#include "guest-agent/server/serial_session_splitter.h"
#include "libkata/agent_api/serial_session.h"
#include "libkata/testing/test_support.h"
#include "libkata/ttrpc/frame.h"

using kata::guest::SerialSessionSplitter;

namespace {

const std::string kPreface(kata::agent_api::kSerialSessionPreface);

std::string Request(uint32_t stream, const std::string& payload) {
  return kata::ttrpc::EncodeFrame(stream, kata::ttrpc::kTypeRequest, 0, payload);
}

// What each session received, feeding `stream` in pieces of `step` bytes.
std::vector<std::string> Sessions(const std::string& stream, size_t step) {
  SerialSessionSplitter s;
  std::vector<std::string> sessions;
  for (size_t at = 0; at < stream.size(); at += step) {
    for (auto& piece : s.Feed(stream.substr(at, step))) {
      if (piece.new_session) sessions.emplace_back();
      REQUIRE_FALSE(sessions.empty());
      sessions.back() += piece.data;
    }
  }
  return sessions;
}

}  // namespace

TEST_CASE("serial sessions: each preface starts one and is not passed on; bytes before the first are dropped", "[serial]") {
  SerialSessionSplitter s;
  // The tail of a connection the agent already dropped: nothing to deliver.
  CHECK(s.Feed(std::string("\0\0\4old-frame-bytes", 18)).empty());
  CHECK_FALSE(s.in_session());
  auto first = s.Feed(kPreface + Request(1, "check"));
  REQUIRE(first.size() == 1);
  CHECK(first[0].new_session);
  CHECK(first[0].data == Request(1, "check"));
  CHECK(s.in_session());
  auto more = s.Feed(Request(3, "create"));
  REQUIRE(more.size() == 1);
  CHECK_FALSE(more[0].new_session);
  CHECK(more[0].data == Request(3, "create"));
  // The host left and came back unseen, between two frames: a new session at the preface.
  auto both = s.Feed(Request(5, "old") + kPreface + Request(1, "new"));
  REQUIRE(both.size() == 2);
  CHECK_FALSE(both[0].new_session);
  CHECK(both[0].data == Request(5, "old"));
  CHECK(both[1].new_session);
  CHECK(both[1].data == Request(1, "new"));
}

TEST_CASE("serial sessions: a preface inside a payload (a container's stdin) is data", "[serial]") {
  const std::string stdin_bytes = "echo " + kPreface + " done";
  const std::string stream = kPreface + Request(1, stdin_bytes) + Request(3, kPreface);
  for (size_t step : {1, 3, 7, 10, 24, 4096}) {
    INFO("step " << step);
    const auto sessions = Sessions(stream, step);
    REQUIRE(sessions.size() == 1);
    CHECK(sessions[0] == Request(1, stdin_bytes) + Request(3, kPreface));
  }
}

TEST_CASE("serial sessions: prefaces and headers split anywhere across reads", "[serial]") {
  const std::string stream = "stale" + kPreface + Request(1, "a") + Request(3, std::string(70000, 'x')) + kPreface +
                             Request(1, "b") + kPreface + kPreface + Request(1, "c");
  const std::vector<std::string> want = {Request(1, "a") + Request(3, std::string(70000, 'x')), Request(1, "b"), "",
                                         Request(1, "c")};
  for (size_t step = 1; step <= 40; ++step) {
    INFO("step " << step);
    CHECK(Sessions(stream, step) == want);
  }
  CHECK(Sessions(stream, stream.size()) == want);
}

TEST_CASE("serial sessions: a header no host sends ends the session until the next preface", "[serial]") {
  struct Case {
    const char* name;
    std::string bad;
  };
  const std::vector<Case> cases = {
      {"a response frame", kata::ttrpc::EncodeFrame(1, kata::ttrpc::kTypeResponse, 0, "r")},
      {"an unknown frame type", kata::ttrpc::EncodeFrame(1, 9, 0, "r")},
      {"a length over 4 MiB", std::string("\x00\x40\x00\x01\x00\x00\x00\x01\x01\x00", 10)},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    SerialSessionSplitter s;
    auto good = s.Feed(kPreface + Request(1, "ok") + c.bad + Request(3, "after the desync"));
    REQUIRE(good.size() == 1);
    CHECK(good[0].data == Request(1, "ok"));
    CHECK_FALSE(s.in_session());
    auto next = s.Feed("junk" + kPreface + Request(1, "again"));
    REQUIRE(next.size() == 1);
    CHECK(next[0].new_session);
    CHECK(next[0].data == Request(1, "again"));
  }
}

TEST_CASE("serial sessions: after EndSession bytes are dropped until the next preface, even a split one", "[serial]") {
  SerialSessionSplitter s;
  REQUIRE(s.Feed(kPreface + Request(1, std::string(100, 'p')).substr(0, 50)).size() == 1);
  s.EndSession();  // the host went away mid-frame
  CHECK(s.Feed("rest of the old frame").empty());
  CHECK(s.Feed(kPreface.substr(0, 5)).empty());
  auto next = s.Feed(kPreface.substr(5) + Request(1, "x"));
  REQUIRE(next.size() == 1);
  CHECK(next[0].new_session);
  CHECK(next[0].data == Request(1, "x"));
}
