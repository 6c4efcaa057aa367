#include <sys/stat.h>
#include <unistd.h>

#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"

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
