// OCI hooks on the host: real processes, the state on stdin, exit statuses, timeouts.

#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "host-runtime/hooks/oci_hooks.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using kata::testing::ReadFile;
using kata::testing::TempDir;
using kata::testing::WriteFile;
namespace oci = kata::oci;

namespace {

oci::Hook Hook(const std::string& script, const std::string& tmp, std::optional<int> timeout = std::nullopt) {
  const std::string path = tmp + "/hook-" + std::to_string(std::hash<std::string>()(script)) + ".sh";
  WriteFile(path, "#!/bin/sh\n" + script + "\n");
  REQUIRE(::chmod(path.c_str(), 0755) == 0);
  oci::Hook h;
  h.set_path(path);
  h.add_args("my-hook");  // argv[0], as the spec's args give it
  h.add_args("one");
  h.add_env("HOOK_ENV=set");
  if (timeout) h.set_timeout(*timeout);
  return h;
}

}  // namespace

TEST_CASE("hooks: the state JSON carries id, status, pid, bundle and annotations", "[hooks]") {
  oci::Spec spec;
  spec.set_oci_version("1.1.0");
  (*spec.mutable_annotations())["io.kubernetes.cri.container-type"] = "container";
  const auto state = nlohmann::json::parse(kata::runtime::HookState(spec, "c1", "creating", 4242, "/b"));
  CHECK(state["ociVersion"] == "1.1.0");
  CHECK(state["id"] == "c1");
  CHECK(state["status"] == "creating");
  CHECK(state["pid"] == 4242);
  CHECK(state["bundle"] == "/b");
  CHECK(state["annotations"]["io.kubernetes.cri.container-type"] == "container");
}

TEST_CASE("hooks: run with the state on stdin, args and env; failures and timeouts named", "[hooks]") {
  TempDir tmp;
  const std::string out = tmp.Sub("out");
  const auto ok = Hook("cat > " + out + "; echo \"$1 $HOOK_ENV\" >> " + out, tmp.path());
  REQUIRE(kata::runtime::RunHook(ok, "{\"id\":\"c1\"}", "hooks.prestart[0]").ok());
  CHECK(ReadFile(out) == "{\"id\":\"c1\"}one set\n");

  const auto fails = Hook("echo 'no GPU here' >&2; exit 3", tmp.path());
  const absl::Status failed = kata::runtime::RunHook(fails, "{}", "hooks.createRuntime[1]");
  CHECK(failed.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(failed.message()).find("hooks.createRuntime[1]") != std::string::npos);
  CHECK(std::string(failed.message()).find("exited with 3: no GPU here") != std::string::npos);

  const auto slow = Hook("sleep 30", tmp.path(), 1);
  const absl::Time start = absl::Now();
  const absl::Status timed_out = kata::runtime::RunHook(slow, "{}", "hooks.poststart[0]");
  CHECK(timed_out.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::Now() - start < absl::Seconds(10));

  // A hook that leaves without reading a large state: no SIGPIPE for us (it killed this test
  // now and then before), and its exit status decides.
  const auto deaf = Hook("exec 0<&-; exit 0", tmp.path());
  CHECK(kata::runtime::RunHook(deaf, std::string(1 << 20, ' '), "hooks.prestart[1]").ok());

  oci::Hook missing;
  missing.set_path(tmp.Sub("no-such-hook"));
  CHECK_FALSE(kata::runtime::RunHook(missing, "{}", "hooks.poststop[0]").ok());

  // Creation hooks stop at the first failure; poststart/poststop go on.
  google::protobuf::RepeatedPtrField<oci::Hook> list;
  *list.Add() = fails;
  *list.Add() = Hook("echo ran >> " + tmp.Sub("second"), tmp.path());
  CHECK_FALSE(kata::runtime::RunHooks(list, "prestart", "{}", true).ok());
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("second")));
  CHECK(kata::runtime::RunHooks(list, "poststop", "{}", false).ok());
  CHECK(ReadFile(tmp.Sub("second")) == "ran\n");
}

TEST_CASE("hooks: startContainer hooks are refused by name", "[hooks]") {
  oci::Spec spec;
  spec.mutable_hooks()->add_start_container()->set_path("/usr/bin/x");
  const absl::Status s = kata::runtime::CheckHooksSupported(spec);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("hooks.startContainer") != std::string::npos);
}
