#include "host-runtime/agent_ctl/agent_client.h"

#include "host-runtime/channel/agent_dialer.h"
#include "libkata/agent_api/agent_methods.h"
#include "libkata/base/str_cat.h"

namespace kata::agentctl {

using google::protobuf::Message;

absl::StatusOr<std::shared_ptr<ttrpc::Client>> Connect(const std::string& address) {
  auto parsed = runtime::ParseAgentAddress(address);
  if (!parsed.ok()) return parsed.status();
  auto conn = runtime::ConnectAgent(*parsed);
  if (!conn.ok()) return conn.status();
  return conn->client;
}

std::vector<std::string> AgentClient::Commands() {
  std::vector<std::string> names;
  for (const auto& m : agent_api::Methods()) names.emplace_back(m.method);
  return names;
}

absl::StatusOr<std::unique_ptr<Message>> AgentClient::NewRequest(const std::string& command) {
  const agent_api::MethodInfo* m = agent_api::FindMethod(command);
  if (m == nullptr) return absl::NotFoundError(StrCat("unknown command \"", command, "\""));
  return std::unique_ptr<Message>(m->request_prototype->New());
}

absl::StatusOr<std::unique_ptr<Message>> AgentClient::Call(const std::string& command, const Message& request,
                                                           absl::Duration timeout) {
  const agent_api::MethodInfo* m = agent_api::FindMethod(command);
  if (m == nullptr) return absl::NotFoundError(StrCat("unknown command \"", command, "\""));
  std::unique_ptr<Message> reply(m->response_prototype->New());
  const absl::Status s = agent_api::CallMethod(*client_, m->service, m->method, request, reply.get(), timeout);
  if (!s.ok()) return absl::Status(s.code(), StrCat(command, ": ", s.message()));
  return reply;
}

}  // namespace kata::agentctl
