#pragma once

// The devices the agent has seen, and the waiters for devices it has not seen yet.

#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "guest-agent/uevent/matchers.h"
#include "guest-agent/uevent/uevent.h"

namespace kata::guest {

class UeventStore {
 public:
  // `history` bounds the recent block events kept to explain a timeout.
  explicit UeventStore(size_t history = 32) : history_limit_(history) {}

  // add/change: the device is (re)stored under its DEVPATH and every waiter it satisfies is
  // woken, once, and dropped. remove: the device is forgotten.
  void Deliver(const Uevent& e) ABSL_LOCKS_EXCLUDED(mu_);

  // Returns the first stored device `matcher` accepts, or waits up to `timeout` for one.
  // The look-up and the registration of the waiter happen under one lock, so an event cannot
  // slip between them. On timeout the waiter is removed and DeadlineExceeded names what was
  // awaited and lists the block events that did arrive.
  absl::StatusOr<Uevent> Wait(const UeventMatcher& matcher, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);

  // No more events will come (the reader is gone): every waiter, now and later, gets `why`
  // at once instead of its timeout. Devices already stored are still found.
  void Break(absl::Status why) ABSL_LOCKS_EXCLUDED(mu_);

  size_t WaiterCount() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t DeviceCount() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Waiter {
    const UeventMatcher* matcher;
    std::optional<Uevent> found;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, Uevent> devices_ ABSL_GUARDED_BY(mu_);  // by DEVPATH
  std::list<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  std::deque<Uevent> recent_block_events_ ABSL_GUARDED_BY(mu_);
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  const size_t history_limit_;
};

}  // namespace kata::guest
