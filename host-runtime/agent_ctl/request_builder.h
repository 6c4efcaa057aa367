#pragma once

// Turns a kata-agent-ctl command line ("CreateContainer container_id=c1 bundle=/b") into the
// RPC's request message. Pure apart from reading the files it names.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace kata::agentctl {

struct CommandLine {
  std::string name;               // the RPC: "CreateContainer"
  std::vector<std::string> args;  // "key=value", "json://FILE"
};

// Splits a command on spaces; single or double quotes keep spaces in a value.
absl::StatusOr<CommandLine> ParseCommandLine(std::string_view line);

// Applies args to `request`, in order:
//   json://FILE           the whole request, as protobuf JSON
//   key=json://FILE       one field (a message, or a JSON array for a repeated field)
//   a.b.c=value           a scalar field, by proto or JSON name, nested messages created on
//                         the way; a repeated field gets one element per occurrence
//   spec=FILE, bundle=DIR (messages with an OCI spec field) the spec from config.json; with
//                         bundle a relative root.path is made absolute under DIR
// Errors name the argument and the field.
absl::Status ApplyArgs(const std::vector<std::string>& args, google::protobuf::Message& request);

}  // namespace kata::agentctl
