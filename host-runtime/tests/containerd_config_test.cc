// containerd's configuration for the runtime, as text: the snippet per containerd line, the
// version a `containerd --version` names, and the install into an operator's config.toml
// (Debian's as shipped among them): the drop-in carries the operator's tables of the plugins
// it sets, the config gains one import, a second install changes nothing, and what cannot be
// merged is refused naming it. containerd itself loads the result in the CRI tests.

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "host-runtime/install/containerd_config.h"
#include "host-runtime/install/toml_tables.h"
#include "libkata/testing/test_support.h"

using kata::runtime::ContainerdLine;
using kata::runtime::ContainerdLineFromVersionOutput;
using kata::runtime::ContainerdSnippet;
using kata::runtime::ParseContainerdVersion;
using kata::runtime::PlanContainerdInstall;
using kata::runtime::SplitTomlTables;

namespace {

constexpr char kDropIn[] = "/etc/containerd/conf.d/kata-cpp.toml";
constexpr char kKataConfigPath[] = "/etc/kata-cpp/configuration.yaml";
const kata::runtime::KataTablesOptions kKataConfig{kKataConfigPath, ""};

// /etc/containerd/config.toml as Debian 12's containerd package ships it.
constexpr char kDebianConfig[] = R"(version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
)";

std::vector<std::string> Headers(const std::string& toml) {
  auto split = SplitTomlTables(toml);
  REQUIRE(split.ok());
  std::vector<std::string> out;
  for (const auto& t : split->tables) out.push_back(t.header);
  return out;
}

}  // namespace

TEST_CASE("containerd config: the version a containerd names picks its config line", "[install]") {
  CHECK(*ParseContainerdVersion("1.6.20") == ContainerdLine::kV1);
  CHECK(*ParseContainerdVersion("v1.7.2") == ContainerdLine::kV1);
  CHECK(*ParseContainerdVersion("1.6.20~ds1") == ContainerdLine::kV1);
  CHECK(*ParseContainerdVersion("2.2.0") == ContainerdLine::kV2);
  CHECK(*ParseContainerdVersion("2") == ContainerdLine::kV2);
  for (const char* bad : {"1.5.9", "3.0", "x", ""}) {
    INFO(bad);
    CHECK(!ParseContainerdVersion(bad).ok());
  }
  CHECK(*ContainerdLineFromVersionOutput("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1\n") ==
        ContainerdLine::kV1);
  CHECK(!ContainerdLineFromVersionOutput("bash: containerd: command not found").ok());
}

TEST_CASE("containerd config: the snippet per line", "[install]") {
  const std::string v1 = ContainerdSnippet(ContainerdLine::kV1, kKataConfig);
  CHECK(absl::StartsWith(v1, "version = 2\n"));
  CHECK(Headers(v1) == std::vector<std::string>{R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata])",
                                                R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options])"});
  CHECK(absl::StrContains(v1, "runtime_type = \"io.containerd.kata.v2\""));
  CHECK(absl::StrContains(v1, "ConfigPath = \"/etc/kata-cpp/configuration.yaml\""));
  CHECK(absl::StrContains(v1, "privileged_without_host_devices = true"));
  const std::string v2 = ContainerdSnippet(ContainerdLine::kV2, kKataConfig);
  CHECK(absl::StartsWith(v2, "version = 3\n"));
  CHECK(Headers(v2) == std::vector<std::string>{R"([plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata])",
                                                R"([plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata.options])",
                                                R"([plugins."io.containerd.differ.v1.erofs"])",
                                                R"([plugins."io.containerd.service.v1.diff-service"])",
                                                R"([plugins."io.containerd.snapshotter.v1.erofs"])"});
  CHECK(absl::StrContains(v2, "snapshotter = \"erofs\""));
}

TEST_CASE("containerd config: kata-erofs-snapshotter as a proxy plugin (1.6/1.7); refused for 2.x", "[install]") {
  const kata::runtime::KataTablesOptions with_proxy{kKataConfigPath, "/run/kata-erofs-snapshotter/snapshotter.sock"};
  const std::string v1 = ContainerdSnippet(ContainerdLine::kV1, with_proxy);
  CHECK(Headers(v1) == std::vector<std::string>{R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata])",
                                                R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options])",
                                                "[proxy_plugins.kata-erofs]"});
  CHECK(absl::StrContains(v1, "snapshotter = \"kata-erofs\""));  // the handler's, on 1.7
  CHECK(absl::StrContains(v1, "address = \"/run/kata-erofs-snapshotter/snapshotter.sock\""));

  // Installed next to the operator's own proxy plugins, which stay; one of the same name is refused.
  const std::string config = "version = 2\n[proxy_plugins.stargz]\n  type = \"snapshot\"\n  address = \"/run/s.sock\"\n";
  auto plan = PlanContainerdInstall(config, ContainerdLine::kV1, kDropIn, with_proxy);
  REQUIRE(plan.ok());
  CHECK(absl::StrContains(plan->config, "[proxy_plugins.stargz]"));
  CHECK(absl::StrContains(plan->drop_in, "[proxy_plugins.kata-erofs]"));
  auto taken = PlanContainerdInstall("version = 2\n[proxy_plugins.kata-erofs]\n  type = \"snapshot\"\n", ContainerdLine::kV1,
                                     kDropIn, with_proxy);
  REQUIRE_FALSE(taken.ok());
  CHECK(absl::StrContains(taken.status().message(), "[proxy_plugins.kata-erofs]"));

  // containerd 2.x has its own EROFS snapshotter: asking for ours there is refused.
  const auto v2 = kata::testing::RunShell(std::string(KATA_RUNTIME_BIN) + " containerd-config --containerd-version 2.2 --erofs-snapshotter");
  CHECK(v2.status == 1);
  CHECK(absl::StrContains(v2.out, "its own EROFS snapshotter"));
}

TEST_CASE("containerd config: containerd 1.6 reads the printed kata-erofs proxy plugin", "[install]") {
  if (::access("/usr/bin/containerd", X_OK) != 0) KATA_SKIP("containerd is not installed");
  kata::testing::TempDir tmp;
  const auto printed = kata::testing::RunShell(std::string(KATA_RUNTIME_BIN) +
                                               " containerd-config --containerd-version 1.6.20 --erofs-snapshotter > " +
                                               tmp.Sub("config.toml"));
  REQUIRE(printed.status == 0);
  const std::string dump = kata::testing::Capture("containerd --config " + tmp.Sub("config.toml") + " config dump 2>&1");
  INFO(dump);
  CHECK(absl::StrContains(dump, "[proxy_plugins.kata-erofs]"));
  CHECK(absl::StrContains(dump, "address = \"/run/kata-erofs-snapshotter/snapshotter.sock\""));
}

TEST_CASE("containerd config: installed into Debian's config, which keeps its CNI settings; twice is once", "[install]") {
  auto plan = PlanContainerdInstall(kDebianConfig, ContainerdLine::kV1, kDropIn, kKataConfig);
  REQUIRE(plan.ok());
  CHECK(plan->config_changed);
  // One line added, after the version; every other byte is the operator's.
  CHECK(plan->config == std::string("version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n") + (kDebianConfig + 12));
  // The drop-in replaces the CRI plugin's section, so it carries Debian's CRI tables (not
  // the opt plugin's, which it leaves alone) before ours.
  CHECK(Headers(plan->drop_in) == std::vector<std::string>{R"([plugins."io.containerd.grpc.v1.cri"])",
                                                           R"([plugins."io.containerd.grpc.v1.cri".cni])",
                                                           R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata])",
                                                           R"([plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options])"});
  CHECK(absl::StrContains(plan->drop_in, "bin_dir = \"/usr/lib/cni\""));
  CHECK(absl::StrContains(plan->drop_in, "version = 2\n"));

  auto again = PlanContainerdInstall(plan->config, ContainerdLine::kV1, kDropIn, kKataConfig);
  REQUIRE(again.ok());
  CHECK(!again->config_changed);
  CHECK(again->config == plan->config);
  CHECK(again->drop_in == plan->drop_in);
}

TEST_CASE("containerd config: the import joins imports the operator has, however written", "[install]") {
  struct Case {
    std::string config, want;
  };
  const std::vector<Case> cases = {
      {"", "version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n"},
      {"# all commented out\n#root = \"/x\"\n", "version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n# all commented out\n#root = \"/x\"\n"},
      {"version = 2\nimports = [\"/etc/a.toml\"]\n", "version = 2\nimports = [\"/etc/a.toml\", \"/etc/containerd/conf.d/kata-cpp.toml\"]\n"},
      {"version = 2\nimports = []\n", "version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n"},
      {"version = 2\nimports = [\n  \"/etc/a.toml\",\n]\n[grpc]\n  address = \"/x\"\n",
       "version = 2\nimports = [\n  \"/etc/a.toml\", \"/etc/containerd/conf.d/kata-cpp.toml\"\n]\n[grpc]\n  address = \"/x\"\n"},
      {"# mine\nversion = 2 # v2\nroot = \"/r\"\n", "# mine\nversion = 2 # v2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\nroot = \"/r\"\n"},
      {"version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n", "version = 2\nimports = [\"/etc/containerd/conf.d/kata-cpp.toml\"]\n"},
  };
  for (const Case& c : cases) {
    INFO(c.config);
    auto plan = PlanContainerdInstall(c.config, ContainerdLine::kV1, kDropIn, kKataConfig);
    REQUIRE(plan.ok());
    CHECK(plan->config == c.want);
  }
}

TEST_CASE("containerd config: what cannot be merged is refused naming it", "[install]") {
  struct Case {
    std::string name, config;
    ContainerdLine line;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"no version (read as version 1)", "[plugins.cri]\n  x = 1\n", ContainerdLine::kV1, "version 1"},
      {"version 3 for containerd 1.x", "version = 3\n", ContainerdLine::kV1, "version 3"},
      {"version 2 for containerd 2.x", "version = 2\n", ContainerdLine::kV2, "version 2"},
      {"a kata handler of the operator's",
       "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]\n  runtime_type = \"x\"\n", ContainerdLine::kV1,
       "runtimes.kata]"},
      {"a diff-service of the operator's (2.x)", "version = 3\n[plugins.\"io.containerd.service.v1.diff-service\"]\n  default = [\"walking\"]\n",
       ContainerdLine::kV2, "diff-service"},
      {"keys under [plugins]", "version = 2\n[plugins]\n  \"io.containerd.grpc.v1.cri\".sandbox_image = \"p\"\n", ContainerdLine::kV1,
       "[plugins]"},
      {"plugins inline", "version = 2\nplugins = {}\n", ContainerdLine::kV1, "inline"},
      {"an unterminated string", "version = 2\nroot = \"/r\n", ContainerdLine::kV1, "line 2"},
      {"an unclosed array", "version = 2\nimports = [\"/a\",\n", ContainerdLine::kV1, "not closed"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto plan = PlanContainerdInstall(c.config, c.line, kDropIn, kKataConfig);
    REQUIRE(!plan.ok());
    INFO(plan.status().message());
    CHECK(absl::StrContains(plan.status().message(), c.names));
  }
}

TEST_CASE("containerd config: an install that fails half way leaves the drop-in as it was", "[install]") {
  // The drop-in is written first; config.toml then cannot be (its directory is missing).
  kata::testing::TempDir tmp;
  const std::string install = std::string(KATA_RUNTIME_BIN) + " containerd-config --containerd-version 1.6.20 --install" +
                              " --config " + tmp.Sub("missing/config.toml");
  const auto fresh = kata::testing::RunShell(install + " --drop-in " + tmp.Sub("conf.d/kata/kata-cpp.toml"));
  INFO(fresh.out);
  CHECK(fresh.status == 1);
  CHECK(absl::StrContains(fresh.out, tmp.Sub("missing/config.toml")));
  CHECK(kata::testing::Capture("ls -A " + tmp.path()) == "");  // no drop-in, nor the directories made for it

  kata::testing::WriteFile(tmp.Sub("kata-cpp.toml"), "# the operator's\n");
  const auto again = kata::testing::RunShell(install + " --drop-in " + tmp.Sub("kata-cpp.toml"));
  INFO(again.out);
  CHECK(again.status == 1);
  CHECK(absl::StrContains(again.out, "was put back as it was"));
  CHECK(kata::testing::ReadFile(tmp.Sub("kata-cpp.toml")) == "# the operator's\n");
}

TEST_CASE("toml tables: array lines are not headers; quoted keys keep their dots", "[install]") {
  auto split = SplitTomlTables("version = 2\nx = [\n  [1, 2],\n  [3],\n]\n[a.\"b.c\".d]\n  s = \"[not a header]\"\n[[e]]\n");
  REQUIRE(split.ok());
  CHECK(split->preamble == "version = 2\nx = [\n  [1, 2],\n  [3],\n]\n");
  REQUIRE(split->tables.size() == 2);
  CHECK(split->tables[0].path == std::vector<std::string>{"a", "b.c", "d"});
  CHECK(split->tables[0].text == "[a.\"b.c\".d]\n  s = \"[not a header]\"\n");
  CHECK(split->tables[1].path == std::vector<std::string>{"e"});
}
