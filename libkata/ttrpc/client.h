#pragma once

// A ttrpc client on one connection: odd stream ids from 1, several calls in flight, responses
// matched by stream id in whatever order they come. The shim uses it to publish events to
// containerd and to call the agent; the tests use it to drive the shim and the agent.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libkata/ttrpc/server.h"
#include "libkata/base/unique_fd.h"

namespace kata::ttrpc {

class Client {
 public:
  // `address`: a unix socket path, or "unix://PATH".
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& address);
  // A client on a stream socket connected already (vsock, a virtio-serial chardev's socket).
  static std::unique_ptr<Client> Adopt(UniqueFd connection);
  ~Client();

  // Ends the connection now: calls in flight and later ones fail Unavailable, and the server
  // sees the client leave (its calls are cancelled).
  void Close();

  // The response payload, or the server's status (its code and message), DeadlineExceeded
  // after `timeout` (absl::InfiniteDuration(): no timeout, none sent), Unavailable when the
  // connection is gone.
  absl::StatusOr<std::string> Call(const std::string& service, const std::string& method, const std::string& payload,
                                   const Metadata& metadata = {}, absl::Duration timeout = absl::Seconds(30))
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  void ReadLoop();

  UniqueFd fd_;
  std::thread reader_;
  absl::Mutex write_mu_;
  absl::Mutex mu_;
  uint32_t next_stream_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint32_t, std::optional<std::string>> responses_ ABSL_GUARDED_BY(mu_);  // raw Response bytes
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kata::ttrpc
