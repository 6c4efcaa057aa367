#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"

namespace {
std::string testing_join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "; ";
  return out;
}
}  // namespace

TEST_CASE("unix sockets: listen, connect, a stale socket replaced, hostile paths refused", "[socket]") {
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("s.sock");
  auto l = kata::ListenUnixSocket(path);
  REQUIRE(l.ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto c = kata::ConnectUnixSocket(path);
  REQUIRE(c.ok());
  CHECK(::write(c->get(), "x", 1) == 1);
  l->reset();  // the listener goes; its file stays behind, stale
  auto again = kata::ListenUnixSocket(path);
  CHECK(again.ok());

  auto missing = kata::ConnectUnixSocket(dir.Sub("none.sock"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("none.sock") != std::string::npos);
  const std::string too_long = dir.Sub(std::string(120, 'a'));
  CHECK(kata::ConnectUnixSocket(too_long).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kata::ListenUnixSocket(too_long).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kata::ListenUnixSocket("").status().code() == absl::StatusCode::kInvalidArgument);
  kata::testing::WriteFile(dir.Sub("file"), "data");
  auto not_socket = kata::ListenUnixSocket(dir.Sub("file"));
  CHECK(not_socket.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(kata::testing::ReadFile(dir.Sub("file")) == "data");  // never replaced
}

// A client that waits for the path to appear and then connects (the agent's tests, any
// supervisor) must find it listening. bind() makes the file before listen(): the path must
// appear only by the rename that follows listen (inotify: never created under its own name).
// Seen as "Connection refused" from guest_agent_api's fixture under load.
TEST_CASE("unix sockets: the path appears already listening, by a rename", "[socket]") {
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("s.sock");
  for (bool stale : {false, true}) {  // the second round replaces the first's socket
    INFO((stale ? "over a stale socket" : "fresh"));
    const int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    REQUIRE(in >= 0);
    REQUIRE(::inotify_add_watch(in, dir.path().c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE) >= 0);
    auto listening = kata::ListenUnixSocket(path, 0);
    REQUIRE(listening.ok());
    std::vector<std::string> seen;
    alignas(inotify_event) char buf[4096];
    for (ssize_t n; (n = ::read(in, buf, sizeof(buf))) > 0;) {
      for (char* p = buf; p < buf + n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(p);
        const std::string what = (e->mask & IN_CREATE) ? "create " : (e->mask & IN_MOVED_TO) ? "moved-to " : "delete ";
        seen.push_back(what + (e->len > 0 ? e->name : ""));
        p += sizeof(inotify_event) + e->len;
      }
    }
    ::close(in);
    INFO(testing_join(seen));
    CHECK(std::find(seen.begin(), seen.end(), "create s.sock") == seen.end());
    CHECK(std::find(seen.begin(), seen.end(), "delete s.sock") == seen.end());  // never missing either
    CHECK(std::find(seen.begin(), seen.end(), "moved-to s.sock") != seen.end());
    auto client = kata::ConnectUnixSocket(path);
    CHECK(client.ok());
  }
  CHECK(kata::testing::Capture("ls -A " + dir.path()) == "s.sock\n");  // no staging name left
}
