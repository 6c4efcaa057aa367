// The agent API's method list against the .proto files it stands for, and the typed client
// against a real ttrpc server.

#include <set>
#include <string>

#include "libkata/agent_api/agent_methods.h"
#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"
#include "libkata/ttrpc/server.h"
#include "libkata/ttrpc/unary.h"

namespace agent = kata::agent;
using kata::agent_api::Methods;

TEST_CASE("agent api: the method list is agent.proto's and health.proto's, with their types", "[agent_api]") {
  std::set<std::string> in_protos;
  for (const auto* file : {agent::CreateContainerRequest::descriptor()->file(), agent::CheckRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        // Kata's package is "grpc": the wire name of kata.agent.AgentService is grpc.AgentService.
        const std::string key = "grpc." + service->name() + "/" + method->name();
        in_protos.insert(key);
        const kata::agent_api::MethodInfo* listed = kata::agent_api::FindMethod(method->name());
        INFO(key);
        REQUIRE(listed != nullptr);
        CHECK(std::string(listed->service) == "grpc." + service->name());
        CHECK(listed->request_prototype->GetDescriptor() == method->input_type());
        CHECK(listed->response_prototype->GetDescriptor() == method->output_type());
      }
    }
  }
  std::set<std::string> listed;
  for (const auto& m : Methods()) listed.insert(std::string(m.service) + "/" + std::string(m.method));
  CHECK(listed == in_protos);
  CHECK(listed.size() == Methods().size());  // no method twice
  CHECK(kata::agent_api::FindMethod("Nope") == nullptr);
}

TEST_CASE("agent api: the typed client calls by Kata's names and keeps the server's status", "[agent_api]") {
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("agent.sock");
  kata::ttrpc::Server server;
  kata::ttrpc::RegisterUnary<agent::WaitProcessRequest, agent::WaitProcessResponse>(
      server, kata::agent_api::kAgentService, "WaitProcess",
      [](const agent::WaitProcessRequest& req, agent::WaitProcessResponse* resp, const kata::ttrpc::CallContext&) {
        if (req.container_id() == "missing") return absl::NotFoundError("container missing");
        resp->set_status(static_cast<int32_t>(req.container_id().size()));
        return absl::OkStatus();
      });
  server.Register(kata::agent_api::kAgentService, "GetMetrics",
                  [](const std::string&, const kata::ttrpc::CallContext&) -> absl::StatusOr<std::string> {
                    return std::string("\xff\xff\xff", 3);  // a truncated varint
                  });
  auto listener = kata::ListenUnixSocket(path);
  REQUIRE(listener.ok());
  REQUIRE(server.Start(std::move(*listener)).ok());
  auto client = kata::ttrpc::Client::Connect(path);
  REQUIRE(client.ok());
  const kata::agent_api::AgentStub stub(std::move(*client));

  agent::WaitProcessRequest req;
  req.set_container_id("abc");
  agent::WaitProcessResponse resp;
  REQUIRE(stub.WaitProcess(req, &resp).ok());
  CHECK(resp.status() == 3);
  req.set_container_id("missing");
  const absl::Status missing = stub.WaitProcess(req, &resp);
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(missing.message() == "container missing");
  // Not registered here: the server says so under the wire name.
  agent::CheckRequest check;
  agent::HealthCheckResponse health;
  const absl::Status unknown = stub.Check(check, &health, absl::Seconds(5));
  CHECK(unknown.code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(unknown.message()).find("grpc.Health/Check") != std::string::npos);
  // A payload that is no WaitProcessRequest: InvalidArgument naming the method.
  auto raw = stub.client().Call(kata::agent_api::kAgentService, "WaitProcess", std::string("\xff\xff\xff", 3));
  CHECK(raw.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(raw.status().message()).find("grpc.AgentService/WaitProcess") != std::string::npos);
  // An answer that does not parse as the method's response: Internal, naming the type.
  agent::GetMetricsRequest metrics_req;
  agent::Metrics metrics;
  const absl::Status garbled = stub.GetMetrics(metrics_req, &metrics, absl::Seconds(5));
  CHECK(garbled.code() == absl::StatusCode::kInternal);
  CHECK(std::string(garbled.message()).find("kata.agent.Metrics") != std::string::npos);
}
