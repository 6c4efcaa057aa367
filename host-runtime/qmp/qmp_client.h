#pragma once

// One QMP connection to a QEMU: greeting and capabilities negotiation, commands matched to
// replies by id (several may be in flight), events to subscribers, a timeout per command.
// The connection dying fails every pending command at once.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "host-runtime/qmp/qmp_message.h"
#include "libkata/base/unique_fd.h"

namespace kata::runtime {

class QmpClient {
 public:
  // Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket, reads the greeting and
  // sends qmp_capabilities, all within `timeout`.
  static absl::StatusOr<std::unique_ptr<QmpClient>> Connect(const std::string& socket_path, absl::Duration timeout);
  ~QmpClient();

  // The greeting's version object.
  const nlohmann::json& version() const { return version_; }

  // Runs a command; its "return" value, or the QMP error as a Status (QmpErrorStatus), or
  // DeadlineExceeded after `timeout` (a late reply is then dropped), or Unavailable when
  // the connection is gone.
  absl::StatusOr<nlohmann::json> Execute(const std::string& command, const nlohmann::json& arguments = nullptr,
                                         absl::Duration timeout = absl::Seconds(10)) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `fn` for every event, in arrival order, on the reader thread (keep it short).
  int Subscribe(std::function<void(const QmpEvent&)> fn) ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(int token) ABSL_LOCKS_EXCLUDED(mu_);

  // An event to wait for, registered BEFORE the command that causes it is sent, so it cannot
  // be missed (QEMU may emit it before the command's reply).
  class EventWaiter {
   public:
    ~EventWaiter();
    absl::StatusOr<QmpEvent> Wait(absl::Duration timeout);

   private:
    friend class QmpClient;
    EventWaiter(QmpClient* client, int token, std::shared_ptr<struct EventSlot> slot);
    QmpClient* client_;
    int token_;
    std::shared_ptr<struct EventSlot> slot_;
  };
  std::unique_ptr<EventWaiter> ExpectEvent(std::string name, std::function<bool(const nlohmann::json& data)> match);

  bool connected() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    std::optional<QmpReply> reply;
  };

  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status Handshake(absl::Duration timeout);
  void ReadLoop();
  void Dispatch(QmpMessage message) ABSL_LOCKS_EXCLUDED(mu_);
  void Close(std::string reason) ABSL_LOCKS_EXCLUDED(mu_);
  // Reads one line within `deadline` (handshake only; afterwards the reader thread reads).
  absl::StatusOr<std::string> ReadLineUntil(absl::Time deadline);
  std::string buffer_;  // bytes read but not yet a whole line
  absl::Status SendLine(const std::string& line) ABSL_LOCKS_EXCLUDED(write_mu_);

  UniqueFd fd_;
  UniqueFd stop_;
  nlohmann::json version_;
  std::thread reader_;

  absl::Mutex write_mu_;
  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::string close_reason_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Pending*> pending_ ABSL_GUARDED_BY(mu_);
  int next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int, std::function<void(const QmpEvent&)>> subscribers_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<struct EventSlot>> slots_ ABSL_GUARDED_BY(mu_);  // woken on close
};

// What an EventWaiter waits on; shared with the subscriber that fills it.
struct EventSlot {
  absl::Mutex mu;
  std::optional<QmpEvent> event ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
};

}  // namespace kata::runtime
