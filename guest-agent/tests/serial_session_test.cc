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

TEST_CASE("serial sessions: a hangup is certain when the session began after the last one was seen", "[serial]") {
  SerialSessionSplitter s;
  REQUIRE(s.Feed(kPreface + Request(1, "check")).size() == 1);
  CHECK(s.HostHungUp());
  CHECK_FALSE(s.in_session());
  CHECK_FALSE(s.undecided());
  CHECK(s.Feed(Request(3, "old bytes")).empty());
  REQUIRE(s.Feed(kPreface + Request(1, "next")).size() == 1);
  CHECK(s.HostHungUp());  // this session began after a seen hangup too
  CHECK_FALSE(s.in_session());
}

// Seen in CI: the host reconnected, the agent read the new connection's preface and request,
// and only then the port reported the old connection's close. Ending the session there lost
// every request of the new connection (its host sends one preface only).
TEST_CASE("serial sessions: the previous connection's late hangup does not end the session that replaced it", "[serial]") {
  SerialSessionSplitter s;
  REQUIRE(s.Feed(kPreface + Request(1, "first host")).size() == 1);
  auto second = s.Feed(kPreface + Request(1, "check"));  // its leave-and-return went unseen
  REQUIRE(second.size() == 1);
  CHECK(second[0].new_session);
  CHECK_FALSE(s.HostHungUp());
  CHECK(s.in_session());
  CHECK(s.undecided());
  // The same host goes on (a frame split across reads): the same session, now decided.
  const std::string again = Request(3, "check again");
  auto first_part = s.Feed(again.substr(0, 3));
  auto rest = s.Feed(again.substr(3));
  CHECK_FALSE(s.undecided());
  std::string got;
  for (auto* pieces : {&first_part, &rest}) {
    for (auto& p : *pieces) {
      CHECK_FALSE(p.new_session);
      got += p.data;
    }
  }
  CHECK(got == again);
  // That was the owed hangup: the next one is certain.
  CHECK(s.HostHungUp());
  CHECK_FALSE(s.in_session());
}

TEST_CASE("serial sessions: an undecided hangup that was real: the next preface starts a session, even mid-frame", "[serial]") {
  SerialSessionSplitter s;
  REQUIRE(s.Feed(kPreface + Request(1, "first host")).size() == 1);
  const std::string half = Request(3, std::string(100, 'p')).substr(0, 40);
  REQUIRE(s.Feed(kPreface + half).size() == 1);  // the second host, gone mid-frame
  CHECK_FALSE(s.HostHungUp());
  CHECK(s.Feed(kPreface.substr(0, 7)).empty());  // a preface, split: nothing decided yet
  CHECK(s.undecided());
  auto third = s.Feed(kPreface.substr(7) + Request(1, "third host"));
  REQUIRE(third.size() == 1);
  CHECK(third[0].new_session);
  CHECK(third[0].data == Request(1, "third host"));
  CHECK_FALSE(s.undecided());
  CHECK(s.HostHungUp());  // its predecessor's hangup was seen: certain
}

TEST_CASE("serial sessions: undecided mid-frame, payload that starts like the preface continues the frame", "[serial]") {
  SerialSessionSplitter s;
  REQUIRE(s.Feed(kPreface + Request(1, "first host")).size() == 1);
  const std::string frame = Request(3, "0123456789" + kPreface.substr(0, 9) + "stdin");
  REQUIRE(s.Feed(kPreface + frame.substr(0, kata::ttrpc::kHeaderSize + 10)).size() == 1);
  CHECK_FALSE(s.HostHungUp());
  auto rest = s.Feed(frame.substr(kata::ttrpc::kHeaderSize + 10));
  CHECK_FALSE(s.undecided());
  REQUIRE(rest.size() == 1);
  CHECK_FALSE(rest[0].new_session);
  CHECK(rest[0].data == frame.substr(kata::ttrpc::kHeaderSize + 10));
  CHECK(s.in_session());
}
