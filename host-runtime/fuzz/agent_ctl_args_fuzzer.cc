// kata-agent-ctl's command lines ("CreateContainer container_id=c1 OCI.hostname=h
// spec=config.json ..."): split into words, the RPC's request found by name, each argument
// applied to it. Input: the command line, then after the first newline the contents every
// file argument (json://, spec=, bundle=) reads, so the fuzzer drives those too.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>


#include "host-runtime/agent_ctl/agent_client.h"
#include "host-runtime/agent_ctl/request_builder.h"
#include "libkata/testing/fuzz_check.h"

namespace {

// A directory of this process's own, removed when it exits.
struct FileDirectory {
  std::string path;
  FileDirectory() {
    char tmpl[] = "/tmp/agent-ctl-fuzz-XXXXXX";
    KATA_FUZZ_CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    path = tmpl;
  }
  ~FileDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::string& FileDir() {
  static const FileDirectory dir;
  return dir.path;
}

// Points every file an argument names at the input's file contents.
std::string Redirect(const std::string& arg) {
  const std::string json = "json://";
  if (arg.starts_with(json)) return json + FileDir() + "/f.json";
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) return arg;
  const std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
  if (value.starts_with(json)) return key + "=" + json + FileDir() + "/f.json";
  if (key == "spec") return key + "=" + FileDir() + "/config.json";
  if (key == "bundle") return key + "=" + FileDir();
  return arg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view line = input.substr(0, nl);
  const std::string_view contents = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  auto cl = kata::agentctl::ParseCommandLine(line);
  if (!cl.ok()) return 0;
  KATA_FUZZ_CHECK(!cl->name.empty() || line.find_first_of("'\"") != std::string_view::npos, "an empty command name");
  auto request = kata::agentctl::AgentClient::NewRequest(cl->name);
  if (!request.ok()) return 0;
  for (const char* name : {"/f.json", "/config.json"}) {
    std::ofstream(FileDir() + name, std::ios::binary | std::ios::trunc) << contents;
  }
  std::vector<std::string> args;
  for (const std::string& a : cl->args) args.push_back(Redirect(a));
  if (kata::agentctl::ApplyArgs(args, **request).ok()) {
    // What is sent: it must encode.
    std::string wire;
    KATA_FUZZ_CHECK((*request)->SerializeToString(&wire), "a built request does not encode");
  }
  return 0;
}
