#include "libkata/agent_api/agent_api.h"

#include "libkata/base/str_cat.h"

namespace kata::agent_api {

const std::vector<MethodInfo>& Methods() {
  static const auto* methods = new std::vector<MethodInfo>{
#define KATA_AGENT_METHOD_INFO(service, method, Req, Resp) \
  MethodInfo{service, #method, &Req::default_instance(), &Resp::default_instance()},
      KATA_AGENT_API_METHODS(KATA_AGENT_METHOD_INFO)
#undef KATA_AGENT_METHOD_INFO
  };
  return *methods;
}

const MethodInfo* FindMethod(std::string_view method) {
  for (const MethodInfo& m : Methods()) {
    if (m.method == method) return &m;
  }
  return nullptr;
}

absl::Status CallMethod(ttrpc::Client& client, std::string_view service, std::string_view method,
                        const google::protobuf::Message& request, google::protobuf::Message* response,
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
