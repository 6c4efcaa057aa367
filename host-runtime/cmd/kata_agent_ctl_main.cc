// kata-agent-ctl: talk to a kata-agent by hand, one RPC per command, replies as JSON.
//
//   kata-agent-ctl --server-address unix:///run/agent.sock -c Check
//       -c "CreateContainer container_id=c1 bundle=/b storages=json://s.json"
//   kata-agent-ctl --server-address unix:///run/agent.sock -i      (commands from stdin)

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "google/protobuf/util/json_util.h"
#include "host-runtime/agent_ctl/agent_client.h"
#include "host-runtime/agent_ctl/request_builder.h"
#include "kata_version.h"

namespace {

using kata::agentctl::AgentClient;

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: kata-agent-ctl --server-address ADDR [--timeout DURATION] [--repeat N]\n"
               "                      (-c \"COMMAND [key=value | key=json://FILE | json://FILE]...\")... | -i\n"
               "       kata-agent-ctl --list | --version\n"
               "ADDR: unix://PATH, vsock://CID:PORT or serial://PATH. Replies go to stdout as JSON,\n"
               "one line per call; a timing line per call goes to stderr.\n");
}

// Runs one command line `repeat` times. Returns false on the first failure.
bool Run(AgentClient& client, const std::string& line, int repeat, absl::Duration timeout) {
  auto cl = kata::agentctl::ParseCommandLine(line);
  if (!cl.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(cl.status().message()).c_str());
    return false;
  }
  auto request = client.NewRequest(cl->name);
  if (!request.ok()) {
    std::fprintf(stderr, "error: %s (try --list)\n", std::string(request.status().message()).c_str());
    return false;
  }
  if (auto s = kata::agentctl::ApplyArgs(cl->args, **request); !s.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", cl->name.c_str(), std::string(s.message()).c_str());
    return false;
  }
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = true;  // WaitProcess status 0 must show, not vanish
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto reply = client.Call(cl->name, **request, timeout);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "%s: %.3f ms\n", cl->name.c_str(), ms);
    if (!reply.ok()) {
      std::fprintf(stderr, "error: %s: %s\n", absl::StatusCodeToString(reply.status().code()).c_str(),
                   std::string(reply.status().message()).c_str());
      return false;
    }
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(**reply, &json, print);
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address;
  std::vector<std::string> commands;
  bool interactive = false;
  int repeat = 1;
  absl::Duration timeout = absl::Seconds(30);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--version" || a == "-V") {
      std::printf("kata-agent-ctl %s\n", KATA_VERSION);
      return 0;
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a == "--list") {
      for (const auto& c : AgentClient::Commands()) std::printf("%s\n", c.c_str());
      return 0;
    } else if (a == "--server-address" || a == "-a") {
      address = value();
    } else if (a == "-c" || a == "--cmd") {
      commands.push_back(value());
    } else if (a == "-i" || a == "--interactive") {
      interactive = true;
    } else if (a == "--repeat") {
      if (!absl::SimpleAtoi(value(), &repeat) || repeat < 1) {
        std::fprintf(stderr, "kata-agent-ctl: --repeat wants a number >= 1\n");
        return 2;
      }
    } else if (a == "--timeout") {
      if (!absl::ParseDuration(value(), &timeout)) {
        std::fprintf(stderr, "kata-agent-ctl: --timeout wants a duration such as 5s\n");
        return 2;
      }
    } else {
      Usage(stderr);
      return 2;
    }
  }
  if (address.empty() || (commands.empty() && !interactive)) {
    Usage(stderr);
    return 2;
  }
  auto connection = kata::agentctl::Connect(address);
  if (!connection.ok()) {
    std::fprintf(stderr, "kata-agent-ctl: %s\n", std::string(connection.status().message()).c_str());
    return 1;
  }
  AgentClient client(*connection);
  for (const auto& c : commands) {
    if (!Run(client, c, repeat, timeout)) return 1;
  }
  if (interactive) {
    const bool tty = ::isatty(STDIN_FILENO);
    std::string line;
    for (;;) {
      if (tty) std::fprintf(stderr, "agent-ctl> ");
      if (!std::getline(std::cin, line)) break;
      if (line.empty() || line.front() == '#') continue;
      if (line == "quit" || line == "exit") break;
      (void)Run(client, line, repeat, timeout);  // a failed command does not end the session
    }
  }
  return 0;
}
