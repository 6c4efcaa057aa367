#include "libkata/agent_api/agent_api.h"

#include "libkata/base/str_cat.h"

namespace kata::agent_api {

absl::Status CallMethod(ttrpc::Client& client, std::string_view service, std::string_view method,
                        const google::protobuf::MessageLite& request, google::protobuf::MessageLite* response,
                        absl::Duration timeout) {
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return absl::InvalidArgumentError(StrCat(method, ": the request does not serialize (a required field unset?)"));
  }
  auto reply = client.Call(std::string(service), std::string(method), payload, {}, timeout);
  if (!reply.ok()) return reply.status();
  if (response != nullptr && !response->ParseFromString(*reply)) {
    return absl::InternalError(StrCat(method, ": the agent's response is not a ", response->GetTypeName()));
  }
  return absl::OkStatus();
}

}  // namespace kata::agent_api
