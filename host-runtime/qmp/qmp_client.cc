#include "host-runtime/qmp/qmp_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unix_socket.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("qmp");
constexpr size_t kMaxLine = 16 << 20;  // query results are large, but not this large

}  // namespace

absl::StatusOr<std::unique_ptr<QmpClient>> QmpClient::Connect(const std::string& socket_path, absl::Duration timeout) {
  auto fd = ConnectUnixSocket(socket_path);
  if (!fd.ok()) return absl::Status(fd.status().code(), StrCat("QMP: ", fd.status().message()));
  std::unique_ptr<QmpClient> c(new QmpClient(std::move(*fd)));
  c->stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!c->stop_.valid()) return ErrnoStatus(errno, "eventfd for QMP");
  RETURN_IF_ERROR(c->Handshake(timeout));
  c->reader_ = std::thread([raw = c.get()] { raw->ReadLoop(); });
  return c;
}

QmpClient::~QmpClient() {
  const uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  if (reader_.joinable()) reader_.join();
  Close("QMP client closed");
}

absl::StatusOr<std::string> QmpClient::ReadLineUntil(absl::Time deadline) {
  for (;;) {
    if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    pollfd p{fd_.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return absl::DeadlineExceededError("QMP: no greeting or answer in time");
    char chunk[4096];
    const ssize_t n = ::read(fd_.get(), chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError("QMP: QEMU closed the connection during the handshake");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

absl::Status QmpClient::Handshake(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(std::string line, ReadLineUntil(deadline));
  ASSIGN_OR_RETURN(QmpMessage greeting, ParseQmpMessage(line));
  if (!std::holds_alternative<QmpGreeting>(greeting)) {
    return absl::FailedPreconditionError(StrCat("QMP: expected the greeting, got: ", line.substr(0, 200)));
  }
  version_ = std::get<QmpGreeting>(greeting).version;
  RETURN_IF_ERROR(SendLine(SerializeQmpCommand("qmp_capabilities", nullptr, 0)));
  for (;;) {
    ASSIGN_OR_RETURN(std::string reply_line, ReadLineUntil(deadline));
    ASSIGN_OR_RETURN(QmpMessage reply, ParseQmpMessage(reply_line));
    if (!std::holds_alternative<QmpReply>(reply)) continue;  // an early event: nobody subscribed yet
    const QmpReply& r = std::get<QmpReply>(reply);
    if (!r.ok()) return QmpErrorStatus("qmp_capabilities", r);
    return absl::OkStatus();
  }
}

absl::Status QmpClient::SendLine(const std::string& line) {
  absl::MutexLock lock(&write_mu_);
  return SendAll(fd_.get(), line, "QMP command");  // QEMU may have died: EPIPE, not SIGPIPE
}

void QmpClient::ReadLoop() {
  pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  char chunk[65536];
  for (;;) {
    // Lines already buffered (the handshake may have read past its reply).
    for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.empty() || line == "\r") continue;
      auto m = ParseQmpMessage(line);
      if (!m.ok()) {
        kLog.Warn("unreadable QMP message", {{"error", std::string(m.status().message())}});
        continue;
      }
      Dispatch(std::move(*m));
    }
    if (buffer_.size() > kMaxLine) return Close("QMP: a message longer than 16 MiB");
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return Close(StrCat("QMP: poll failed: ", std::strerror(errno)));
    }
    if (fds[1].revents) return;
    const ssize_t n = ::read(fd_.get(), chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Close(n == 0 ? "QMP: QEMU closed the connection" : StrCat("QMP: read failed: ", std::strerror(errno)));
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

void QmpClient::Dispatch(QmpMessage message) {
  if (auto* reply = std::get_if<QmpReply>(&message)) {
    absl::MutexLock lock(&mu_);
    if (!reply->id) return;
    auto it = pending_.find(*reply->id);
    if (it == pending_.end()) return;  // timed out already: dropped
    it->second->reply = std::move(*reply);
    return;
  }
  if (auto* event = std::get_if<QmpEvent>(&message)) {
    std::vector<std::function<void(const QmpEvent&)>> subscribers;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [token, fn] : subscribers_) subscribers.push_back(fn);
    }
    kLog.Debug("QMP event", {{"event", event->name}});
    for (const auto& fn : subscribers) fn(*event);
  }
}

void QmpClient::Close(std::string reason) {
  std::vector<std::shared_ptr<EventSlot>> slots;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    close_reason_ = std::move(reason);
    for (const auto& [token, slot] : slots_) slots.push_back(slot);
  }
  for (auto& slot : slots) {
    absl::MutexLock lock(&slot->mu);
    slot->closed = true;
  }
}

bool QmpClient::connected() const {
  absl::MutexLock lock(&mu_);
  return !closed_;
}

absl::StatusOr<nlohmann::json> QmpClient::Execute(const std::string& command, const nlohmann::json& arguments,
                                                  absl::Duration timeout) {
  Pending pending;
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::UnavailableError(StrCat("QMP ", command, ": ", close_reason_));
    id = next_id_++;
    pending_[id] = &pending;
  }
  absl::Status sent = SendLine(SerializeQmpCommand(command, arguments, id));
  absl::MutexLock lock(&mu_);
  if (sent.ok()) {
    auto done = [this, &pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending.reply.has_value() || closed_; };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  pending_.erase(id);
  if (pending.reply) {
    if (!pending.reply->ok()) return QmpErrorStatus(command, *pending.reply);
    return *pending.reply->value;
  }
  if (!sent.ok()) return absl::UnavailableError(StrCat("QMP ", command, ": ", ToStd(sent.message())));
  if (closed_) return absl::UnavailableError(StrCat("QMP ", command, ": ", close_reason_));
  return absl::DeadlineExceededError(StrCat("QMP ", command, ": no reply within ", absl::FormatDuration(timeout)));
}

int QmpClient::Subscribe(std::function<void(const QmpEvent&)> fn) {
  absl::MutexLock lock(&mu_);
  const int token = next_token_++;
  subscribers_[token] = std::move(fn);
  return token;
}

void QmpClient::Unsubscribe(int token) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(token);
  slots_.erase(token);
}

std::unique_ptr<QmpClient::EventWaiter> QmpClient::ExpectEvent(std::string name,
                                                               std::function<bool(const nlohmann::json&)> match) {
  auto slot = std::make_shared<EventSlot>();
  const int token = Subscribe([slot, name = std::move(name), match = std::move(match)](const QmpEvent& e) {
    if (e.name != name || (match && !match(e.data))) return;
    absl::MutexLock lock(&slot->mu);
    if (!slot->event) slot->event = e;
  });
  {
    absl::MutexLock lock(&mu_);
    slots_[token] = slot;
    if (closed_) {
      absl::MutexLock slot_lock(&slot->mu);
      slot->closed = true;
    }
  }
  return std::unique_ptr<EventWaiter>(new EventWaiter(this, token, slot));
}

QmpClient::EventWaiter::EventWaiter(QmpClient* client, int token, std::shared_ptr<EventSlot> slot)
    : client_(client), token_(token), slot_(std::move(slot)) {}

QmpClient::EventWaiter::~EventWaiter() { client_->Unsubscribe(token_); }

absl::StatusOr<QmpEvent> QmpClient::EventWaiter::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&slot_->mu);
  EventSlot* s = slot_.get();
  auto ready = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->event.has_value() || s->closed; };
  slot_->mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (slot_->event) return *slot_->event;
  if (slot_->closed) return absl::UnavailableError("QMP connection closed while waiting for an event");
  return absl::DeadlineExceededError(StrCat("QMP: the event did not come within ", absl::FormatDuration(timeout)));
}

}  // namespace kata::runtime
