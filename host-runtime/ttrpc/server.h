#pragma once

// A ttrpc server: unary methods by "service/method", each request served on a thread of its
// own so a blocking call (Wait) never holds up the others on the same connection; responses
// go back as they finish, in any order. Unknown methods are Unimplemented, even stream ids
// InvalidArgument, oversized frames ResourceExhausted — all answered on their stream, the
// connection kept.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libkata/base/unique_fd.h"

namespace kata::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;
// Gets the request's payload; returns the response's payload, or a Status sent as the error.
using Handler = std::function<absl::StatusOr<std::string>(const std::string& payload, const Metadata& metadata)>;

class Server {
 public:
  Server() = default;
  ~Server();

  // Before Start.
  void Register(const std::string& service, const std::string& method, Handler handler);
  // Serves every connection accepted on `listener` (a listening unix stream socket).
  absl::Status Start(UniqueFd listener);
  // Stops accepting, lets running handlers finish and send their responses (a handler may
  // be the one that asked for the shutdown), then closes every connection.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Connection;
  void AcceptLoop();
  void ServeConnection(std::shared_ptr<Connection> conn);
  void Dispatch(std::shared_ptr<Connection> conn, uint32_t stream_id, std::string payload);

  std::map<std::string, Handler> handlers_;  // "service/method"
  UniqueFd listener_;
  UniqueFd stop_;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // handlers running
  int readers_ ABSL_GUARDED_BY(mu_) = 0;   // connection threads
};

}  // namespace kata::ttrpc
