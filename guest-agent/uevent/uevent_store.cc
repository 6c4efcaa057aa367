#include "guest-agent/uevent/uevent_store.h"

#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("uevent");
}

void UeventStore::Deliver(const Uevent& e) {
  absl::MutexLock lock(&mu_);
  if (e.subsystem == "block") {
    recent_block_events_.push_back(e);
    if (recent_block_events_.size() > history_limit_) recent_block_events_.pop_front();
  }
  if (e.action == "remove") {
    devices_.erase(e.devpath);
    return;
  }
  if (e.action != "add" && e.action != "change") return;
  devices_[e.devpath] = e;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if ((*it)->matcher->Matches(e)) {
      (*it)->found = e;
      it = waiters_.erase(it);  // woken once; Wait() sees `found` under the same lock
    } else {
      ++it;
    }
  }
}

absl::StatusOr<Uevent> UeventStore::Wait(const UeventMatcher& matcher, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  for (const auto& [devpath, e] : devices_) {
    if (matcher.Matches(e)) return e;
  }
  if (!broken_.ok()) return broken_;  // nothing new can arrive: say why at once
  Waiter waiter{&matcher, std::nullopt};
  waiters_.push_back(&waiter);
  const auto settled = [this, &waiter]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiter.found.has_value() || !broken_.ok(); };
  mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
  if (waiter.found) return *waiter.found;
  waiters_.remove(&waiter);  // still under the lock: no Deliver can touch it after this
  if (!broken_.ok()) return broken_;

  std::string seen;
  for (const Uevent& e : recent_block_events_) {
    if (!seen.empty()) seen += "; ";
    seen += e.Describe();
  }
  const std::string message =
      StrCat("timed out after ", absl::FormatDuration(timeout), " waiting for ", matcher.Describe(),
             "; block events seen: ", seen.empty() ? "none" : seen);
  kLog.Warn("device wait timed out", {{"awaited", matcher.Describe()}, {"seen", seen}});
  return absl::DeadlineExceededError(message);
}

void UeventStore::Break(absl::Status why) {
  absl::MutexLock lock(&mu_);
  broken_ = std::move(why);  // every waiter wakes (its condition now holds) and returns it
}

size_t UeventStore::WaiterCount() const {
  absl::MutexLock lock(&mu_);
  return waiters_.size();
}

size_t UeventStore::DeviceCount() const {
  absl::MutexLock lock(&mu_);
  return devices_.size();
}

}  // namespace kata::guest
