#pragma once

// Typed unary methods on a ttrpc::Server: the request parsed into Req (a malformed one is
// InvalidArgument naming the method), the handler fills Resp.

#include <functional>
#include <string>

#include "libkata/base/str_cat.h"
#include "libkata/ttrpc/server.h"

namespace kata::ttrpc {

template <typename Req, typename Resp>
using UnaryHandler = std::function<absl::Status(const Req& request, Resp* response, const CallContext& context)>;

template <typename Req, typename Resp>
void RegisterUnary(Server& server, const std::string& service, const std::string& method, UnaryHandler<Req, Resp> handler) {
  server.Register(service, method,
                  [service, method, handler = std::move(handler)](const std::string& payload,
                                                                  const CallContext& context) -> absl::StatusOr<std::string> {
                    Req request;
                    if (!request.ParseFromString(payload)) {
                      return absl::InvalidArgumentError(
                          StrCat(service, "/", method, ": the request is not a valid ", request.GetTypeName()));
                    }
                    Resp response;
                    if (absl::Status s = handler(request, &response, context); !s.ok()) return s;
                    return response.SerializeAsString();
                  });
}

}  // namespace kata::ttrpc
