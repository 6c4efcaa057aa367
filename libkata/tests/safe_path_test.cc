#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libkata/safe_path/safe_path.h"
#include "libkata/testing/test_support.h"

using kata::safe_path::MkdirAllInRoot;
using kata::safe_path::OpenInRoot;
using kata::safe_path::Resolver;
using kata::safe_path::ScopedJoin;
using kata::safe_path::ScopedResolve;

namespace {

// A root with hostile symlinks, and a secret outside it that nothing may reach.
//   root/etc/passwd            "inside"
//   root/a/b/                  directory
//   root/abs      -> /etc                (absolute: means root/etc)
//   root/rel      -> ../../../../../outside/secret (relative, climbing past root)
//   root/a/up     -> ../../..           (relative, to root at most)
//   root/a/b/deep-abs -> /etc         (absolute, below root: restarts at root, not at a/b)
//   root/c1 -> c2, c2 -> /a, so c1 means root/a (a chain)
//   root/l1 -> l2, l2 -> l1   (a loop)
//   root/file                  regular file
//   root/dangling -> /nothing/here
//   outside/secret             "secret"
struct Fixture {
  kata::testing::TempDir tmp;
  std::string root = tmp.Sub("root");
  std::string outside = tmp.Sub("outside");

  Fixture() {
    for (const auto& d : {root, root + "/etc", root + "/a", root + "/a/b", outside}) {
      REQUIRE(::mkdir(d.c_str(), 0755) == 0);
    }
    kata::testing::WriteFile(root + "/etc/passwd", "inside");
    kata::testing::WriteFile(root + "/file", "f");
    kata::testing::WriteFile(outside + "/secret", "secret");
    Link("/etc", "abs");
    Link("../../../../../outside/secret", "rel");
    Link("../../..", "a/up");
    Link("/etc", "a/b/deep-abs");
    Link("c2", "c1");
    Link("/a", "c2");
    Link("l2", "l1");
    Link("l1", "l2");
    Link("/nothing/here", "dangling");
    Link(outside, "to-outside-abs");  // absolute host path: must mean root + that path
  }
  void Link(const std::string& target, const std::string& name) {
    REQUIRE(::symlink(target.c_str(), (root + "/" + name).c_str()) == 0);
  }
  std::string Read(Resolver r, const std::string& path) {
    kata::UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto fd = OpenInRoot(root_fd.get(), path, O_RDONLY, r);
    if (!fd.ok()) return "error: " + std::string(fd.status().message());
    char buf[64];
    const ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    return n < 0 ? "read error" : std::string(buf, static_cast<size_t>(n));
  }
};

Resolver AnyResolver() {
  return GENERATE(Resolver::kOpenat2, Resolver::kWalk);
}

bool SkipIfNoOpenat2(Resolver r) {
  return r == Resolver::kOpenat2 && !kata::safe_path::KernelHasOpenat2();
}

}  // namespace

TEST_CASE("ScopedJoin: plain paths and .. past root stay under root", "[safe_path]") {
  Fixture f;
  CHECK(*ScopedJoin(f.root, "a/b") == f.root + "/a/b");
  CHECK(*ScopedJoin(f.root, "/a//b/") == f.root + "/a/b");
  CHECK(*ScopedJoin(f.root, "") == f.root);
  CHECK(*ScopedJoin(f.root, "..") == f.root);
  CHECK(*ScopedJoin(f.root, "../../etc/passwd") == f.root + "/etc/passwd");
  CHECK(*ScopedJoin(f.root, "a/../../../a/./b") == f.root + "/a/b");
  CHECK(*ScopedJoin(f.root + "/", "a") == f.root + "/a");
  CHECK(*ScopedJoin("/", "../etc") == "/etc");
}

TEST_CASE("ScopedJoin: absolute and relative symlinks resolve inside root", "[safe_path]") {
  Fixture f;
  CHECK(*ScopedJoin(f.root, "abs/passwd") == f.root + "/etc/passwd");
  CHECK(*ScopedJoin(f.root, "rel") == f.root + "/outside/secret");
  CHECK(*ScopedJoin(f.root, "a/up/etc") == f.root + "/etc");
  CHECK(*ScopedJoin(f.root, "a/b/deep-abs/passwd") == f.root + "/etc/passwd");
  CHECK(*ScopedJoin(f.root, "to-outside-abs/secret") == f.root + f.outside + "/secret");
}

TEST_CASE("ScopedJoin: chains resolve, loops are an error", "[safe_path]") {
  Fixture f;
  CHECK(*ScopedJoin(f.root, "c1/b") == f.root + "/a/b");
  auto loop = ScopedJoin(f.root, "l1/x");
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(loop.status().message()).find("too many symlinks") != std::string::npos);
}

TEST_CASE("ScopedJoin: missing components are plain names", "[safe_path]") {
  Fixture f;
  CHECK(*ScopedJoin(f.root, "missing/x/../y") == f.root + "/missing/y");
  CHECK(*ScopedJoin(f.root, "dangling/z") == f.root + "/nothing/here/z");
}

TEST_CASE("ScopedJoin: bad arguments are refused", "[safe_path]") {
  CHECK(ScopedJoin("relative/root", "a").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ScopedJoin("/tmp", std::string("a\0b", 3)).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ScopedResolve: symlinks never reach outside root", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  CHECK(*ScopedResolve(f.root, "abs/passwd", r) == f.root + "/etc/passwd");
  CHECK(*ScopedResolve(f.root, "c1/b", r) == f.root + "/a/b");
  CHECK(*ScopedResolve(f.root, "a/b/deep-abs/passwd", r) == f.root + "/etc/passwd");
  CHECK(*ScopedResolve(f.root, "a/b/../../../../etc", r) == f.root + "/etc");
  CHECK(*ScopedResolve(f.root, "a/up", r) == f.root);
  CHECK(*ScopedResolve(f.root, "", r) == f.root);
  // The escaping link names root/outside/secret, which does not exist: NotFound, never the host file.
  CHECK(ScopedResolve(f.root, "rel", r).status().code() == absl::StatusCode::kNotFound);
  CHECK(ScopedResolve(f.root, "to-outside-abs/secret", r).status().code() == absl::StatusCode::kNotFound);
  CHECK(ScopedResolve(f.root, "dangling", r).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("ScopedResolve: loops and non-directories are errors", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  auto loop = ScopedResolve(f.root, "l1", r);
  REQUIRE_FALSE(loop.ok());
  INFO(loop.status());
  auto notdir = ScopedResolve(f.root, "file/x", r);
  REQUIRE_FALSE(notdir.ok());
  CHECK(std::string(notdir.status().message()).find("file/x") != std::string::npos);
  CHECK(ScopedResolve(f.root + "/missing-root", "a", r).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("OpenInRoot: reading through hostile links reads the root's files", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  CHECK(f.Read(r, "abs/passwd") == "inside");
  CHECK(f.Read(r, "/etc/passwd") == "inside");
  CHECK(f.Read(r, "../../../../etc/passwd") == "inside");
  CHECK(f.Read(r, "a/up/etc/passwd") == "inside");
  CHECK(f.Read(r, "a/b/deep-abs/passwd") == "inside");
  CHECK(f.Read(r, "rel").rfind("error", 0) == 0);
  CHECK(f.Read(r, "to-outside-abs/secret").rfind("error", 0) == 0);
}

TEST_CASE("MkdirAllInRoot: creates nested directories inside root", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  auto made = MkdirAllInRoot(f.root, "x/y/z", 0750, nullptr, r);
  INFO(made.status());
  REQUIRE(made.ok());
  CHECK(*made == f.root + "/x/y/z");
  struct stat st;
  REQUIRE(::stat(made->c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  // Existing directories are fine (mkdir -p).
  CHECK(*MkdirAllInRoot(f.root, "x/y", 0755, nullptr, r) == f.root + "/x/y");
  CHECK(*MkdirAllInRoot(f.root, "/", 0755, nullptr, r) == f.root);
}

TEST_CASE("MkdirAllInRoot: symlinks out of root create inside root", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  auto made = MkdirAllInRoot(f.root, "abs/new", 0755, nullptr, r);
  REQUIRE(made.ok());
  CHECK(*made == f.root + "/etc/new");
  auto escaped = MkdirAllInRoot(f.root, "a/up/../../evil", 0755, nullptr, r);
  REQUIRE(escaped.ok());
  CHECK(*escaped == f.root + "/evil");
  CHECK(::access((f.tmp.path() + "/evil").c_str(), F_OK) != 0);
  // The link's target does not exist inside root: refused like any dangling link, and
  // nothing appears at the host path it spells.
  CHECK_FALSE(MkdirAllInRoot(f.root, "to-outside-abs/created", 0755, nullptr, r).ok());
  CHECK(::access((f.outside + "/created").c_str(), F_OK) != 0);
  auto via_abs = MkdirAllInRoot(f.root, "c1/deeper", 0755, nullptr, r);
  REQUIRE(via_abs.ok());
  CHECK(*via_abs == f.root + "/a/deeper");
}

TEST_CASE("MkdirAllInRoot: a file or dangling link in the way is an error", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  auto file = MkdirAllInRoot(f.root, "file/sub", 0755, nullptr, r);
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == absl::StatusCode::kFailedPrecondition);
  auto dangling = MkdirAllInRoot(f.root, "dangling/sub", 0755, nullptr, r);
  REQUIRE_FALSE(dangling.ok());
  CHECK(std::string(dangling.status().message()).find("dangling") != std::string::npos);
  CHECK(::access((f.root + "/nothing").c_str(), F_OK) != 0);
  auto loop = MkdirAllInRoot(f.root, "l1/sub", 0755, nullptr, r);
  CHECK_FALSE(loop.ok());
}

TEST_CASE("MkdirAllInRoot: reports exactly the directories it created", "[safe_path]") {
  const Resolver r = AnyResolver();
  if (SkipIfNoOpenat2(r)) KATA_SKIP("kernel has no openat2");
  Fixture f;
  std::vector<std::string> created;
  REQUIRE(MkdirAllInRoot(f.root, "a/b/n1/n2", 0755, &created, r).ok());
  CHECK(created == std::vector<std::string>{f.root + "/a/b/n1", f.root + "/a/b/n1/n2"});
  created.clear();
  REQUIRE(MkdirAllInRoot(f.root, "a/b/n1", 0755, &created, r).ok());
  CHECK(created.empty());
}
