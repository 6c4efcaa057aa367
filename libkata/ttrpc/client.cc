#include "libkata/ttrpc/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libkata/ttrpc/frame.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unix_socket.h"
#include "protocols/ttrpc.pb.h"

namespace kata::ttrpc {

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& address) {
  const std::string path = address.starts_with("unix://") ? address.substr(7) : address;
  auto fd = ConnectUnixSocket(path);
  if (!fd.ok()) return fd.status();
  return Adopt(std::move(*fd));
}

std::unique_ptr<Client> Client::Adopt(UniqueFd connection) {
  ClearNonBlocking(connection.get());  // the reader blocks in read()
  std::unique_ptr<Client> c(new Client(std::move(connection)));
  c->reader_ = std::thread([raw = c.get()] { raw->ReadLoop(); });
  return c;
}

void Client::Close() { ::shutdown(fd_.get(), SHUT_RDWR); }

Client::~Client() {
  Close();
  if (reader_.joinable()) reader_.join();
}

void Client::ReadLoop() {
  FrameReader reader;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reader.Feed(std::string_view(buf, static_cast<size_t>(n)));
    while (auto frame = reader.Next()) {
      if (frame->type != kTypeResponse) continue;
      absl::MutexLock lock(&mu_);
      auto it = responses_.find(frame->stream_id);
      if (it != responses_.end()) it->second = std::move(frame->payload);  // a late one (caller gone) is dropped
    }
  }
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

absl::StatusOr<std::string> Client::Call(const std::string& service, const std::string& method, const std::string& payload,
                                         const Metadata& metadata, absl::Duration timeout) {
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  if (timeout != absl::InfiniteDuration()) req.set_timeout_nano(absl::ToInt64Nanoseconds(timeout));
  for (const auto& [k, v] : metadata) {
    auto* kv = req.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  uint32_t stream = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::UnavailableError(StrCat(service, "/", method, ": the ttrpc connection is closed"));
    stream = next_stream_;
    next_stream_ += 2;
    responses_[stream];
  }
  {
    absl::MutexLock lock(&write_mu_);
    if (absl::Status s = SendFrame(fd_.get(), stream, kTypeRequest, req.SerializeAsString()); !s.ok()) {
      absl::MutexLock l(&mu_);
      responses_.erase(stream);
      return absl::UnavailableError(StrCat(service, "/", method, ": ", s.message()));
    }
  }
  absl::MutexLock lock(&mu_);
  auto ready = [this, stream]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || responses_[stream].has_value(); };
  const bool done = mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  std::optional<std::string> raw = std::move(responses_[stream]);
  responses_.erase(stream);
  if (!raw) {
    if (!done) return absl::DeadlineExceededError(StrCat(service, "/", method, ": no response within ", absl::FormatDuration(timeout)));
    return absl::UnavailableError(StrCat(service, "/", method, ": the ttrpc connection closed"));
  }
  ::ttrpc::Response resp;
  if (!resp.ParseFromString(*raw)) return absl::InternalError(StrCat(service, "/", method, ": malformed ttrpc Response"));
  if (resp.has_status() && resp.status().code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(resp.status().code()), resp.status().message());
  }
  return std::move(*resp.mutable_payload());
}

}  // namespace kata::ttrpc
