#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "libkata/oci/spec.h"
#include "protocols/agent.pb.h"
#include "libkata/oci/validate.h"
#include "libkata/testing/test_support.h"

using kata::oci::Spec;

namespace {

const std::string kTestdata = KATA_TESTDATA_DIR;

Spec MinimalSpec() {
  Spec s;
  s.set_oci_version("1.1.0");
  s.mutable_root()->set_path("rootfs");
  s.mutable_process()->add_args("/bin/sh");
  s.mutable_process()->set_cwd("/");
  return s;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

TEST_CASE("oci loads the spec that Debian's runc writes", "[oci]") {
  auto spec = kata::oci::LoadSpec(kTestdata + "/runc-spec.json");
  INFO(spec.status());
  REQUIRE(spec.ok());
  CHECK(spec->oci_version() == "1.0.2-dev");
  CHECK(spec->root().path() == "rootfs");
  CHECK(spec->root().readonly());
  REQUIRE(spec->process().args_size() == 1);
  CHECK(spec->process().args(0) == "sh");
  CHECK(spec->process().terminal());
  CHECK(spec->hostname() == "runc");
  CHECK(spec->mounts(0).destination() == "/proc");
  CHECK(spec->mounts(0).type() == "proc");
  CHECK(spec->linux().namespaces_size() == 5);
  CHECK(spec->linux().masked_paths_size() > 3);
  REQUIRE(spec->linux().resources().devices_size() == 1);
  const auto& rule = spec->linux().resources().devices(0);
  CHECK_FALSE(rule.allow());
  CHECK_FALSE(rule.has_major());  // wildcard: absent, not zero
  CHECK(rule.access() == "rwm");
  bool saw_nofile = false;
  for (const auto& r : spec->process().rlimits()) {
    if (r.type() == "RLIMIT_NOFILE") saw_nofile = r.hard() == 1024 && r.soft() == 1024;
  }
  CHECK(saw_nofile);
}

TEST_CASE("oci reads ctr's template spec, which needs args before it is valid", "[oci]") {
  const std::string text = kata::testing::ReadFile(kTestdata + "/ctr-oci-spec.json");
  auto spec = kata::oci::ParseSpecJson(text, "ctr-oci-spec.json");
  REQUIRE(spec.ok());
  CHECK(spec->linux().cgroups_path() == "/default");
  const auto invalid = kata::oci::ValidateSpec(*spec);
  CHECK(invalid.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Message(invalid).rfind("process.args:", 0) == 0);
  spec->mutable_process()->add_args("/bin/true");
  CHECK(kata::oci::ValidateSpec(*spec).ok());
}

TEST_CASE("oci reads a spec runc writes right now", "[oci]") {
  if (::access("/usr/sbin/runc", X_OK) != 0 && ::access("/usr/bin/runc", X_OK) != 0) {
    KATA_SKIP("runc is not installed (ci/install-deps installs it)");
  }
  kata::testing::TempDir dir;
  const std::string cmd = "cd '" + dir.path() + "' && runc spec --rootless >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto spec = kata::oci::LoadBundleSpec(dir.path());
  INFO(spec.status());
  REQUIRE(spec.ok());
  CHECK(spec->linux().uid_mappings_size() == 1);
  CHECK(spec->linux().uid_mappings(0).size() == 1);
  CHECK(spec->linux().uid_mappings(0).container_id() == 0);  // "containerID" in JSON
}

TEST_CASE("oci ignores unknown fields", "[oci]") {
  auto spec = kata::oci::ParseSpecJson(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"vendorThing":{"a":[1,2,{"b":null}]},)"
      R"("process":{"args":["x"],"futureField":true}})",
      "unknown.json");
  INFO(spec.status());
  REQUIRE(spec.ok());
  CHECK(spec->process().args(0) == "x");
}

TEST_CASE("oci malformed JSON is an error naming the document", "[oci]") {
  for (const char* text : {"", "{", "{\"ociVersion\": }", "[1,2]", "{\"root\": {\"path\": 5}}",
                           "{\"process\": {\"args\": [1, {}]}}", "nul"}) {
    auto spec = kata::oci::ParseSpecJson(text, "bad.json");
    INFO(text);
    REQUIRE_FALSE(spec.ok());
    CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(spec.status()).rfind("bad.json: malformed OCI spec", 0) == 0);
  }
}

TEST_CASE("oci type error names the JSON path", "[oci]") {
  auto spec = kata::oci::ParseSpecJson(
      R"({"ociVersion":"1.1.0","process":{"user":{"uid":"root"}}})", "t.json");
  REQUIRE_FALSE(spec.ok());
  INFO(Message(spec.status()));
  CHECK(Message(spec.status()).find("process.user.uid") != std::string::npos);
}

TEST_CASE("oci refuses absurdly deep JSON without crashing", "[oci]") {
  const std::string deep = "{\"ociVersion\":\"1\",\"x\":" + std::string(200000, '[') +
                           std::string(200000, ']') + "}";
  auto spec = kata::oci::ParseSpecJson(deep, "deep.json");
  REQUIRE_FALSE(spec.ok());
  CHECK(Message(spec.status()).find("deeper than") != std::string::npos);
  // Brackets inside strings do not count.
  auto ok = kata::oci::ParseSpecJson("{\"hostname\":\"" + std::string(1000, '[') + "\"}", "s.json");
  CHECK(ok.ok());
}

TEST_CASE("oci validation names the JSON path that is wrong", "[oci]") {
  struct Case {
    std::function<void(Spec&)> mutate;
    std::string path;
  };
  const std::vector<Case> cases = {
      {[](Spec& s) { s.clear_oci_version(); }, "ociVersion:"},
      {[](Spec& s) { s.clear_root(); }, "root.path:"},
      {[](Spec& s) { s.mutable_process()->clear_args(); }, "process.args:"},
      {[](Spec& s) { s.mutable_process()->set_cwd("relative"); }, "process.cwd:"},
      {[](Spec& s) { s.mutable_process()->add_env("=nokey"); }, "process.env[0]:"},
      {[](Spec& s) { s.mutable_process()->add_args(std::string("a\0b", 3)); }, "process.args[1]:"},
      {[](Spec& s) {
         s.add_mounts()->set_destination("/proc");
         s.add_mounts()->set_destination("tmp");
       }, "mounts[1].destination:"},
      {[](Spec& s) { s.add_mounts(); }, "mounts[0].destination: required"},
      {[](Spec& s) {
         auto* r = s.mutable_process()->add_rlimits();
         r->set_type("NOFILE");
       }, "process.rlimits[0].type:"},
      {[](Spec& s) {
         auto* r = s.mutable_process()->add_rlimits();
         r->set_type("RLIMIT_NOFILE");
         r->set_soft(10);
         r->set_hard(5);
       }, "process.rlimits[0]:"},
      {[](Spec& s) { s.mutable_hooks()->add_prestart()->set_path("hook"); }, "hooks.prestart[0].path:"},
      {[](Spec& s) {
         auto* h = s.mutable_hooks()->add_poststop();
         h->set_path("/bin/true");
         h->set_timeout(0);
       }, "hooks.poststop[0].timeout:"},
      {[](Spec& s) { s.mutable_linux()->add_namespaces()->set_type("pidd"); }, "linux.namespaces[0].type:"},
      {[](Spec& s) {
         s.mutable_linux()->add_namespaces()->set_type("pid");
         s.mutable_linux()->add_namespaces()->set_type("pid");
       }, "linux.namespaces[1].type:"},
      {[](Spec& s) {
         auto* d = s.mutable_linux()->add_devices();
         d->set_path("/dev/x");
         d->set_type("z");
       }, "linux.devices[0].type:"},
      {[](Spec& s) { s.mutable_linux()->mutable_resources()->add_devices()->set_type("x"); },
       "linux.resources.devices[0].type:"},
      {[](Spec& s) { s.mutable_linux()->mutable_resources()->add_devices()->set_access("rwx"); },
       "linux.resources.devices[0].access:"},
      {[](Spec& s) { s.mutable_linux()->add_uid_mappings(); }, "linux.uidMappings[0].size:"},
      {[](Spec& s) { s.mutable_linux()->add_masked_paths("proc/kcore"); }, "linux.maskedPaths[0]:"},
  };
  for (const Case& c : cases) {
    Spec spec = MinimalSpec();
    REQUIRE(kata::oci::ValidateSpec(spec).ok());
    c.mutate(spec);
    const auto status = kata::oci::ValidateSpec(spec);
    INFO("want " << c.path << ", got " << Message(status));
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(status).rfind(c.path, 0) == 0);
  }
}

TEST_CASE("oci save then load gives the same spec", "[oci]") {
  auto spec = kata::oci::LoadSpec(kTestdata + "/runc-spec.json");
  REQUIRE(spec.ok());
  auto* mem = spec->mutable_linux()->mutable_resources()->mutable_memory();
  mem->set_limit(123456789012);
  mem->set_swappiness(0);  // present though zero
  spec->mutable_linux()->mutable_resources()->mutable_pids()->set_limit(-1);
  (*spec->mutable_annotations())["io.kubernetes.cri.sandbox-id"] = "abc";
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("config.json");
  REQUIRE(kata::oci::SaveSpec(*spec, path).ok());
  auto again = kata::oci::LoadSpec(path);
  INFO(again.status());
  REQUIRE(again.ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*spec, *again));
  CHECK(again->linux().resources().memory().has_swappiness());
  CHECK_FALSE(again->linux().resources().memory().has_reservation());
  // OCI tools (Go's encoding/json) need 64-bit numbers unquoted.
  const std::string text = kata::testing::ReadFile(path);
  CHECK(text.find("\"limit\": 123456789012") != std::string::npos);
  CHECK(text.find("\"limit\": -1") != std::string::npos);
  CHECK(text.find("\"123456789012\"") == std::string::npos);
  // Nothing but config.json is left in the directory (no temporary file).
  CHECK(std::system(("test $(ls -A '" + dir.path() + "' | wc -l) -eq 1").c_str()) == 0);
}

TEST_CASE("oci JSON names are the config.json names", "[oci]") {
  Spec s = MinimalSpec();
  auto* m = s.mutable_linux()->add_uid_mappings();
  m->set_container_id(0);
  m->set_host_id(100000);
  m->set_size(65536);
  auto* res = s.mutable_linux()->mutable_resources();
  res->mutable_block_io()->add_throttle_read_iops_device()->set_rate(10);
  res->mutable_memory()->set_disable_oom_killer(true);
  res->mutable_memory()->set_kernel_tcp(1);
  res->mutable_network()->set_class_id(7);
  s.mutable_linux()->mutable_intel_rdt()->set_clos_id("c");
  s.mutable_process()->mutable_exec_cpu_affinity()->set_initial("0");
  const std::string json = kata::oci::SpecToJson(s, false);
  for (const char* name : {"\"ociVersion\"", "\"hostID\":100000", "\"blockIO\"", "\"throttleReadIOPSDevice\"",
                           "\"disableOOMKiller\":true", "\"kernelTCP\"", "\"classID\":7", "\"closID\"",
                           "\"execCPUAffinity\"", "\"uidMappings\""}) {
    INFO(name << " in " << json);
    CHECK(json.find(name) != std::string::npos);
  }
  // containerID 0 is a proto3 default and is omitted; protobuf's parser must read ours back.
  Spec back;
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(s, back));
}

TEST_CASE("oci load and save report the file that failed", "[oci]") {
  kata::testing::TempDir dir;
  auto missing = kata::oci::LoadSpec(dir.Sub("nope.json"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(Message(missing.status()).find("nope.json") != std::string::npos);

  auto not_file = kata::oci::LoadSpec(dir.path());
  CHECK(not_file.status().code() == absl::StatusCode::kInvalidArgument);

  kata::testing::WriteFile(dir.Sub("config.json"), R"({"ociVersion":"1.1.0","root":{"path":"r"},
    "mounts":[{"destination":"relative"}]})");
  auto invalid = kata::oci::LoadBundleSpec(dir.path());
  CHECK(Message(invalid.status()).find("config.json: mounts[0].destination") != std::string::npos);

  const auto save = kata::oci::SaveSpec(MinimalSpec(), dir.Sub("no/such/dir/config.json"));
  CHECK(save.code() == absl::StatusCode::kNotFound);
  CHECK(Message(save).find("no/such/dir/config.json") != std::string::npos);
}

TEST_CASE("oci spec travels in the agent request unchanged", "[oci]") {
  // The same message is what CreateContainerRequest.OCI carries: binary round trip.
  auto spec = kata::oci::LoadSpec(kTestdata + "/runc-spec.json");
  REQUIRE(spec.ok());
  kata::agent::CreateContainerRequest req;
  req.set_container_id("c1");
  *req.mutable_oci() = *spec;
  std::string wire;
  REQUIRE(req.SerializeToString(&wire));
  kata::agent::CreateContainerRequest back;
  REQUIRE(back.ParseFromString(wire));
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*spec, back.oci()));
}
