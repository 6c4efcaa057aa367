#pragma once

// A ttrpc server: unary methods by "service/method", each request served on a thread of its
// own so a blocking call (Wait) never holds up the others on the same connection; responses
// go back as they finish, in any order. Unknown methods are Unimplemented, even stream ids
// InvalidArgument, oversized frames ResourceExhausted — all answered on their stream, the
// connection kept. Connections come from a listening socket it accepts on (the shim) or are
// handed over one by one (the agent: vsock, or a virtio-serial session bridged to a socket).

#include <atomic>
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
#include "absl/time/time.h"
#include "libkata/base/unique_fd.h"

namespace kata::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// What a handler knows of its call besides the payload.
class CallContext {
 public:
  CallContext(Metadata metadata, absl::Time deadline, std::shared_ptr<const std::atomic<bool>> connection_closed,
              std::shared_ptr<const std::atomic<bool>> server_stopping)
      : metadata_(std::move(metadata)), deadline_(deadline), connection_closed_(std::move(connection_closed)),
        server_stopping_(std::move(server_stopping)) {}

  const Metadata& metadata() const { return metadata_; }
  // The client's timeout (Request.timeout_nano) from when the request arrived; infinite without.
  absl::Time deadline() const { return deadline_; }
  // True once nobody waits for the answer: the client's connection closed, its deadline
  // passed, or the server is shutting down. A handler that blocks (reading a process's
  // output) polls it and gives up.
  bool Cancelled() const {
    return connection_closed_->load() || server_stopping_->load() || absl::Now() >= deadline_;
  }

 private:
  Metadata metadata_;
  absl::Time deadline_;
  std::shared_ptr<const std::atomic<bool>> connection_closed_;
  std::shared_ptr<const std::atomic<bool>> server_stopping_;
};

// Gets the request's payload; returns the response's payload, or a Status sent as the error.
using Handler = std::function<absl::StatusOr<std::string>(const std::string& payload, const CallContext& context)>;

class Server {
 public:
  Server();
  ~Server();

  // Before Start or the first Serve.
  void Register(const std::string& service, const std::string& method, Handler handler);
  // Serves every connection accepted on `listener` (a listening unix stream socket).
  absl::Status Start(UniqueFd listener);
  // Serves one connected stream socket (made blocking here) until the peer closes it or the
  // server shuts down.
  void Serve(UniqueFd connection) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops accepting, cancels running calls (CallContext::Cancelled), waits for their handlers
  // to finish and send their responses (a handler may be the one that asked for the
  // shutdown), then closes every connection.
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
  std::shared_ptr<std::atomic<bool>> stopping_flag_;  // what CallContext sees of stopping_
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // handlers running
  int readers_ ABSL_GUARDED_BY(mu_) = 0;   // connection threads
};

}  // namespace kata::ttrpc
