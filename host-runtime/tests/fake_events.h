#pragma once

// containerd's events service, as far as the shim uses it: Forward(Envelope) over ttrpc on a
// unix socket; what arrives is kept for the test to check.

#include <mutex>
#include <string>
#include <vector>

#include "libkata/ttrpc/server.h"
#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"
#include "protocols/containerd_task.pb.h"

namespace kata::shim::testing {

namespace task = containerd::task::v2;

struct FakeEvents {
  kata::ttrpc::Server server;
  std::mutex mu;
  std::vector<std::string> topics;
  std::vector<std::string> namespaces;
  explicit FakeEvents(const std::string& path) {
    server.Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                    [this](const std::string& payload, const kata::ttrpc::CallContext& ctx) -> absl::StatusOr<std::string> {
                      task::ForwardRequest req;
                      if (!req.ParseFromString(payload)) return absl::InvalidArgumentError("bad ForwardRequest");
                      std::lock_guard<std::mutex> l(mu);
                      topics.push_back(req.envelope().topic() + " " + req.envelope().event().type_url());
                      for (const auto& [k, v] : ctx.metadata()) {
                        if (k == "containerd-namespace-ttrpc") namespaces.push_back(v + "/" + req.envelope().namespace_());
                      }
                      return std::string();
                    });
    auto fd = kata::ListenUnixSocket(path);
    REQUIRE(fd.ok());
    REQUIRE(server.Start(std::move(*fd)).ok());
  }
};

}  // namespace kata::shim::testing
