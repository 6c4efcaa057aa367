#include "libkata/ttrpc/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "libkata/ttrpc/frame.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "protocols/ttrpc.pb.h"

namespace kata::ttrpc {
namespace {

const log::Subsystem kLog("ttrpc");

std::string ErrorResponse(const absl::Status& status) {
  ::ttrpc::Response r;
  r.mutable_status()->set_code(static_cast<int32_t>(status.code()));  // absl's codes are gRPC's
  r.mutable_status()->set_message(std::string(status.message()));
  return r.SerializeAsString();
}

}  // namespace

struct Server::Connection {
  UniqueFd fd;
  std::shared_ptr<std::atomic<bool>> closed = std::make_shared<std::atomic<bool>>(false);
  absl::Mutex write_mu;
  void Send(uint32_t stream_id, const std::string& response) {
    absl::MutexLock lock(&write_mu);
    (void)SendFrame(fd.get(), stream_id, kTypeResponse, response);  // a peer that left gets nothing
  }
};

Server::Server() : stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), stopping_flag_(std::make_shared<std::atomic<bool>>(false)) {}

Server::~Server() { Shutdown(); }

void Server::Register(const std::string& service, const std::string& method, Handler handler) {
  handlers_[StrCat(service, "/", method)] = std::move(handler);
}

absl::Status Server::Start(UniqueFd listener) {
  listener_ = std::move(listener);
  if (!stop_.valid()) return absl::ResourceExhaustedError("the ttrpc server has no eventfd (out of file descriptors)");
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void Server::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fd.valid()) Serve(std::move(fd));
  }
}

void Server::Serve(UniqueFd connection) {
  ClearNonBlocking(connection.get());  // the reader blocks in read(); listeners hand out non-blocking ones
  auto conn = std::make_shared<Connection>();
  conn->fd = std::move(connection);
  absl::MutexLock lock(&mu_);
  if (stopping_) return;  // closes it
  connections_.insert(conn);
  ++readers_;
  std::thread([this, conn] { ServeConnection(conn); }).detach();
}

void Server::ServeConnection(std::shared_ptr<Connection> conn) {
  FrameReader reader;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(conn->fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // peer gone (mid-frame or not): the connection ends, its calls cancelled
    reader.Feed(std::string_view(buf, static_cast<size_t>(n)));
    while (auto frame = reader.Next()) {
      if (frame->oversized) {
        conn->Send(frame->stream_id, ErrorResponse(absl::ResourceExhaustedError(
                                         StrCat("message of ", frame->declared_length, " bytes over the limit of ", kMaxPayload))));
      } else if (frame->stream_id % 2 == 0) {
        conn->Send(frame->stream_id, ErrorResponse(absl::InvalidArgumentError("StreamID must be odd for client initiated streams")));
      } else if (frame->type == kTypeRequest) {
        absl::MutexLock lock(&mu_);
        if (stopping_) {
          conn->Send(frame->stream_id, ErrorResponse(absl::UnavailableError("the server is shutting down")));
          continue;
        }
        ++in_flight_;
        std::thread([this, conn, id = frame->stream_id, p = std::move(frame->payload)]() mutable {
          Dispatch(conn, id, std::move(p));
        }).detach();
      }
      // Data frames: containerd 1.6 uses unary calls only; nothing to route them to.
    }
  }
  conn->closed->store(true);
  absl::MutexLock lock(&mu_);
  connections_.erase(conn);
  --readers_;
}

void Server::Dispatch(std::shared_ptr<Connection> conn, uint32_t stream_id, std::string payload) {
  ::ttrpc::Request req;
  std::string response;
  if (!req.ParseFromString(payload)) {
    response = ErrorResponse(absl::InvalidArgumentError("malformed ttrpc Request"));
  } else if (auto it = handlers_.find(StrCat(req.service(), "/", req.method())); it == handlers_.end()) {
    response = ErrorResponse(absl::UnimplementedError(StrCat(req.service(), "/", req.method(), " is not implemented")));
  } else {
    Metadata md;
    for (const auto& kv : req.metadata()) md.emplace_back(kv.key(), kv.value());
    // timeout_nano 0: the client waits for as long as it takes.
    const absl::Time deadline =
        req.timeout_nano() > 0 ? absl::Now() + absl::Nanoseconds(req.timeout_nano()) : absl::InfiniteFuture();
    auto result = it->second(req.payload(), CallContext(std::move(md), deadline, conn->closed, stopping_flag_));
    if (result.ok()) {
      ::ttrpc::Response r;
      r.set_payload(std::move(*result));
      response = r.SerializeAsString();
    } else {
      response = ErrorResponse(result.status());
    }
  }
  conn->Send(stream_id, response);
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stopping_flag_->store(true);
  const uint64_t one = 1;
  if (stop_.valid()) (void)!::write(stop_.get(), &one, sizeof(one));
  if (acceptor_.joinable()) acceptor_.join();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](int* n) { return *n == 0; }, &in_flight_));
  for (const auto& c : connections_) ::shutdown(c->fd.get(), SHUT_RDWR);
  mu_.Await(absl::Condition(+[](int* n) { return *n == 0; }, &readers_));
}

}  // namespace kata::ttrpc
