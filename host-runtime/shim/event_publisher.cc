#include "host-runtime/shim/event_publisher.h"

#include "google/protobuf/util/time_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "protocols/containerd_task.pb.h"

namespace kata::shim {
namespace {
const log::Subsystem kLog("events");
}

absl::Status EventPublisher::Publish(const std::string& topic, const std::string& type_url,
                                     const google::protobuf::Message& event) {
  containerd::task::v2::ForwardRequest req;
  auto* env = req.mutable_envelope();
  *env->mutable_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  env->set_namespace_(namespace_);
  env->set_topic(topic);
  env->mutable_event()->set_type_url(type_url);
  env->mutable_event()->set_value(event.SerializeAsString());
  absl::MutexLock lock(&mu_);
  if (address_.empty()) return absl::FailedPreconditionError("no TTRPC_ADDRESS: events are not published");
  absl::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {  // a dropped connection is dialled once more
    if (!client_) {
      auto c = ttrpc::Client::Connect(address_);
      if (!c.ok()) {
        last = c.status();
        continue;
      }
      client_ = std::move(*c);
    }
    auto r = client_->Call("containerd.services.events.ttrpc.v1.Events", "Forward", req.SerializeAsString(),
                           {{"containerd-namespace-ttrpc", namespace_}}, absl::Seconds(10));
    if (r.ok()) return absl::OkStatus();
    last = r.status();
    client_.reset();
  }
  kLog.Warn("event not published", {{"topic", topic}, {"error", std::string(last.message())}});
  return last;
}

}  // namespace kata::shim
