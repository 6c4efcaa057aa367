#include <sys/socket.h>
#include <sys/stat.h>

#include "libkata/base/file_util.h"
#include "libkata/base/unique_fd.h"
#include "libkata/testing/test_support.h"

TEST_CASE("file_util: reads sysfs and procfs files whose st_size lies", "[file]") {
  // sysfs reports 4096 bytes for every attribute, procfs 0: neither is the content's size.
  auto sys = kata::ReadFileToString("/sys/kernel/mm/transparent_hugepage/enabled", 64);
  if (absl::IsNotFound(sys.status())) sys = kata::ReadFileToString("/sys/kernel/uevent_seqnum", 64);
  INFO(sys.status());
  REQUIRE(sys.ok());
  CHECK_FALSE(sys->empty());
  auto proc = kata::ReadFileToString("/proc/self/stat", 4096);
  REQUIRE(proc.ok());
  CHECK(proc->find(')') != std::string::npos);
}

TEST_CASE("file_util: the size limit holds whatever st_size says", "[file]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("f"), std::string(100, 'x'));
  CHECK(kata::ReadFileToString(dir.Sub("f"), 100)->size() == 100);
  auto over = kata::ReadFileToString(dir.Sub("f"), 99);
  CHECK(over.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kata::ReadFileToString("/proc/self/maps", 16).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kata::ReadFileToString(dir.path()).status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(::mkfifo(dir.Sub("fifo").c_str(), 0600) == 0);
  CHECK_FALSE(kata::ReadFileToString(dir.Sub("fifo")).ok());  // refused, never blocks
}

TEST_CASE("file_util: atomic writes replace whole and leave no temporary", "[file]") {
  kata::testing::TempDir dir;
  REQUIRE(kata::WriteFileAtomically(dir.Sub("a"), "one", 0600).ok());
  REQUIRE(kata::WriteFileAtomically(dir.Sub("a"), "two", 0600).ok());
  CHECK(kata::testing::ReadFile(dir.Sub("a")) == "two");
  struct stat st;
  REQUIRE(::stat(dir.Sub("a").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::system(("test $(ls -A '" + dir.path() + "' | wc -l) -eq 1").c_str()) == 0);
  CHECK(kata::WriteFileAtomically(dir.Sub("missing/a"), "x").code() == absl::StatusCode::kNotFound);
}

TEST_CASE("file_util: a file's tail starts at a whole line", "[file]") {
  kata::testing::TempDir dir;
  const std::string log = dir.Sub("console.log");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + "\n";
  kata::testing::WriteFile(log, text);
  const std::string tail = kata::ReadFileTail(log, 30);
  CHECK(tail == "line 97\nline 98\nline 99\n");
  CHECK(kata::ReadFileTail(log, 1 << 20) == text);
  CHECK(kata::ReadFileTail(dir.Sub("missing")).empty());
}

TEST_CASE("file_util: sending to a socket whose peer left is an error, not SIGPIPE", "[file]") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  kata::UniqueFd mine(pair[0]);
  ::close(pair[1]);
  // With write(2) this killed the process (QMP to a QEMU that had just died).
  const absl::Status s = kata::SendAll(mine.get(), "line\n", "QMP command");
  CHECK(s.code() != absl::StatusCode::kOk);
  CHECK(std::string(s.message()).find("send QMP command") != std::string::npos);
}
