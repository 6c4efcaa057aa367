// ttrpc: framing (pure), and a server and client over a real unix socket.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "libkata/ttrpc/client.h"
#include "libkata/ttrpc/frame.h"
#include "libkata/ttrpc/server.h"
#include "libkata/base/file_util.h"
#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"
#include "protocols/ttrpc.pb.h"

using kata::ttrpc::Client;
using kata::ttrpc::EncodeFrame;
using kata::ttrpc::FrameReader;
using kata::ttrpc::Server;

namespace {

kata::UniqueFd Listen(const std::string& path) {
  auto fd = kata::ListenUnixSocket(path, SOCK_CLOEXEC, 8);
  REQUIRE(fd.ok());
  return std::move(*fd);
}

kata::UniqueFd Dial(const std::string& path) {
  auto fd = kata::ConnectUnixSocket(path);
  REQUIRE(fd.ok());
  return std::move(*fd);
}

// Reads one whole frame from a raw socket.
kata::ttrpc::Frame ReadFrame(int fd) {
  FrameReader r;
  char buf[4096];
  for (;;) {
    if (auto f = r.Next()) return *f;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    REQUIRE(n > 0);
    r.Feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

std::string RequestBytes(const std::string& service, const std::string& method, const std::string& payload) {
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  return req.SerializeAsString();
}

struct EchoServer {
  kata::testing::TempDir dir;
  std::string path = dir.Sub("ttrpc.sock");
  std::promise<void> release_slow;
  std::shared_future<void> slow_released = release_slow.get_future().share();
  std::atomic<int> cancelled_calls{0};
  Server server;  // last: shut down (its handlers finished) before the promise goes
  EchoServer() {
    server.Register("test.Echo", "Echo", [](const std::string& p, const kata::ttrpc::CallContext& ctx) -> absl::StatusOr<std::string> {
      std::string out = p;
      for (const auto& [k, v] : ctx.metadata()) out += "|" + k + "=" + v;
      return out;
    });
    server.Register("test.Echo", "Slow", [this](const std::string& p, const kata::ttrpc::CallContext&) -> absl::StatusOr<std::string> {
      slow_released.wait();
      return "slow:" + p;
    });
    server.Register("test.Echo", "Fail", [](const std::string&, const kata::ttrpc::CallContext&) -> absl::StatusOr<std::string> {
      return absl::NotFoundError("no such container");
    });
    // Blocks until the call is cancelled; says why it was (the agent's ReadStdout does this).
    server.Register("test.Echo", "UntilCancelled", [this](const std::string&, const kata::ttrpc::CallContext& ctx) -> absl::StatusOr<std::string> {
      while (!ctx.Cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      cancelled_calls.fetch_add(1);
      return absl::CancelledError("gave up");
    });
    server.Register("test.Echo", "Deadline", [](const std::string&, const kata::ttrpc::CallContext& ctx) -> absl::StatusOr<std::string> {
      if (ctx.deadline() == absl::InfiniteFuture()) return std::string("none");
      return std::to_string(absl::ToInt64Milliseconds(ctx.deadline() - absl::Now()));
    });
    REQUIRE(server.Start(Listen(path)).ok());
  }
};

}  // namespace

TEST_CASE("ttrpc frames: header, frames split byte by byte and joined, oversized skipped", "[ttrpc]") {
  const std::string a = EncodeFrame(1, kata::ttrpc::kTypeRequest, 0, "hello");
  REQUIRE(a.size() == 15);
  CHECK(a.substr(0, 10) == std::string("\0\0\0\5\0\0\0\1\1\0", 10));
  FrameReader r;
  for (char c : a) {
    CHECK_FALSE(r.Next().has_value());
    r.Feed(std::string_view(&c, 1));
  }
  auto f = r.Next();
  REQUIRE(f.has_value());
  CHECK(f->stream_id == 1);
  CHECK(f->payload == "hello");
  // Two frames in one read, the second after an oversized one whose payload comes in pieces.
  std::string big_header = EncodeFrame(3, kata::ttrpc::kTypeRequest, 0, "").substr(0, 4);
  big_header[0] = 0;
  big_header[1] = 0x40;  // 4 MiB
  big_header[2] = 0;
  big_header[3] = 1;     // + 1
  std::string oversized = big_header + std::string("\0\0\0\3\1\0", 6);
  r.Feed(EncodeFrame(5, kata::ttrpc::kTypeRequest, 0, "x") + oversized + std::string(1 << 20, 'z'));
  auto x = r.Next();
  REQUIRE(x.has_value());
  CHECK(x->payload == "x");
  CHECK_FALSE(r.Next().has_value());  // still skipping
  r.Feed(std::string((3 << 20) + 1, 'z') + EncodeFrame(7, kata::ttrpc::kTypeRequest, 0, "after"));
  auto big = r.Next();
  REQUIRE(big.has_value());
  CHECK(big->oversized);
  CHECK(big->stream_id == 3);
  CHECK(big->declared_length == (4u << 20) + 1);
  auto after = r.Next();
  REQUIRE(after.has_value());
  CHECK(after->payload == "after");
  CHECK_FALSE(r.mid_frame());
}

TEST_CASE("ttrpc: calls with metadata; errors keep their code; unknown methods are Unimplemented", "[ttrpc]") {
  EchoServer s;
  auto client = Client::Connect("unix://" + s.path);
  REQUIRE(client.ok());
  auto echoed = (*client)->Call("test.Echo", "Echo", "hi", {{"containerd-namespace-ttrpc", "k8s.io"}});
  REQUIRE(echoed.ok());
  CHECK(*echoed == "hi|containerd-namespace-ttrpc=k8s.io");
  auto failed = (*client)->Call("test.Echo", "Fail", "");
  CHECK(failed.status().code() == absl::StatusCode::kNotFound);
  CHECK(failed.status().message() == "no such container");
  CHECK((*client)->Call("test.Echo", "Nope", "").status().code() == absl::StatusCode::kUnimplemented);
  CHECK((*client)->Call("other.Service", "Echo", "").status().code() == absl::StatusCode::kUnimplemented);
  s.release_slow.set_value();
}

TEST_CASE("ttrpc: a blocked call does not hold up the next one on the same connection", "[ttrpc]") {
  EchoServer s;
  auto client = Client::Connect(s.path);
  REQUIRE(client.ok());
  auto slow = std::async(std::launch::async, [&] { return (*client)->Call("test.Echo", "Slow", "1"); });
  auto fast = (*client)->Call("test.Echo", "Echo", "2");  // answered while Slow waits
  REQUIRE(fast.ok());
  CHECK(*fast == "2");
  s.release_slow.set_value();
  auto slow_result = slow.get();
  REQUIRE(slow_result.ok());
  CHECK(*slow_result == "slow:1");
}

TEST_CASE("ttrpc: even stream ids, oversized messages and a peer leaving mid-frame", "[ttrpc]") {
  EchoServer s;
  kata::UniqueFd raw = Dial(s.path);
  REQUIRE(kata::WriteAll(raw.get(), EncodeFrame(2, kata::ttrpc::kTypeRequest, 0, RequestBytes("test.Echo", "Echo", "x")), "w").ok());
  auto even = ReadFrame(raw.get());
  CHECK(even.stream_id == 2);
  ::ttrpc::Response r;
  REQUIRE(r.ParseFromString(even.payload));
  CHECK(r.status().code() == 3);  // InvalidArgument
  CHECK(r.status().message() == "StreamID must be odd for client initiated streams");
  // 4 MiB + 1: ResourceExhausted on its stream, and the connection still serves.
  const std::string huge = RequestBytes("test.Echo", "Echo", std::string(4u << 20, 'a'));
  REQUIRE(kata::WriteAll(raw.get(), EncodeFrame(5, kata::ttrpc::kTypeRequest, 0, huge), "w").ok());
  auto exhausted = ReadFrame(raw.get());
  CHECK(exhausted.stream_id == 5);
  REQUIRE(r.ParseFromString(exhausted.payload));
  CHECK(r.status().code() == 8);  // ResourceExhausted
  REQUIRE(kata::WriteAll(raw.get(), EncodeFrame(7, kata::ttrpc::kTypeRequest, 0, RequestBytes("test.Echo", "Echo", "ok")), "w").ok());
  auto ok = ReadFrame(raw.get());
  CHECK(ok.stream_id == 7);
  REQUIRE(r.ParseFromString(ok.payload));
  CHECK_FALSE(r.has_status());
  CHECK(r.payload() == "ok");
  // Half a frame, then gone: the server drops the connection and keeps serving others.
  const std::string frame = EncodeFrame(9, kata::ttrpc::kTypeRequest, 0, RequestBytes("test.Echo", "Echo", "cut"));
  REQUIRE(kata::WriteAll(raw.get(), frame.substr(0, frame.size() / 2), "w").ok());
  raw.reset();
  auto client = Client::Connect(s.path);
  REQUIRE(client.ok());
  CHECK(*(*client)->Call("test.Echo", "Echo", "still") == "still");
  s.release_slow.set_value();
}

TEST_CASE("ttrpc client: pending calls fail when the server goes; timeouts", "[ttrpc]") {
  auto s = std::make_unique<EchoServer>();
  auto client = Client::Connect(s->path);
  REQUIRE(client.ok());
  CHECK((*client)->Call("test.Echo", "Slow", "", {}, absl::Milliseconds(100)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  auto pending = std::async(std::launch::async, [&] { return (*client)->Call("test.Echo", "Slow", "x"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s->release_slow.set_value();  // lets Shutdown finish its handlers
  s.reset();
  auto result = pending.get();
  // Either the handler's answer made it out before the connection closed, or the call fails.
  if (!result.ok()) CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK((*client)->Call("test.Echo", "Echo", "").status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("ttrpc: a call is cancelled when its client leaves, and its deadline is the client's timeout", "[ttrpc]") {
  EchoServer s;
  {
    auto client = Client::Connect(s.path);
    REQUIRE(client.ok());
    // Sent with no timeout: the handler sees none.
    CHECK(*(*client)->Call("test.Echo", "Deadline", "", {}, absl::InfiniteDuration()) == "none");
    auto left = (*client)->Call("test.Echo", "Deadline", "", {}, absl::Seconds(10));
    REQUIRE(left.ok());
    CHECK(std::stoi(*left) > 8000);
    CHECK(std::stoi(*left) <= 10000);
    // The client's deadline cancels the handler too, not only the client's wait.
    CHECK((*client)->Call("test.Echo", "UntilCancelled", "", {}, absl::Milliseconds(50)).status().code() ==
          absl::StatusCode::kDeadlineExceeded);
    auto pending = std::async(std::launch::async, [&] {
      return (*client)->Call("test.Echo", "UntilCancelled", "", {}, absl::InfiniteDuration());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*client)->Close();
    CHECK(pending.get().status().code() == absl::StatusCode::kUnavailable);
    CHECK((*client)->Call("test.Echo", "Echo", "").status().code() == absl::StatusCode::kUnavailable);
  }
  for (int i = 0; i < 200 && s.cancelled_calls.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(s.cancelled_calls.load() == 2);
  s.release_slow.set_value();
}

TEST_CASE("ttrpc: connections handed over (non-blocking socketpairs) are served; Shutdown cancels blocked calls", "[ttrpc]") {
  auto s = std::make_unique<EchoServer>();
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  s->server.Serve(kata::UniqueFd(pair[0]));
  auto client = Client::Adopt(kata::UniqueFd(pair[1]));
  CHECK(*client->Call("test.Echo", "Echo", "over a pair") == "over a pair");
  auto blocked = std::async(std::launch::async, [&] { return client->Call("test.Echo", "UntilCancelled", ""); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s->release_slow.set_value();
  s->server.Shutdown();  // returns: the blocked handler saw the cancellation and answered
  auto result = blocked.get();
  // Its answer went out before the connection closed, or the connection closed first.
  if (!result.ok()) CHECK((result.status().code() == absl::StatusCode::kCancelled ||
                           result.status().code() == absl::StatusCode::kUnavailable));
  CHECK(s->cancelled_calls.load() == 1);
  // After Shutdown, a connection handed over is closed at once.
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  s->server.Serve(kata::UniqueFd(pair[0]));
  auto late = Client::Adopt(kata::UniqueFd(pair[1]));
  CHECK(late->Call("test.Echo", "Echo", "x", {}, absl::Seconds(5)).status().code() == absl::StatusCode::kUnavailable);
}
