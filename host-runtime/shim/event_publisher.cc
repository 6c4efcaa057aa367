#include "host-runtime/shim/event_publisher.h"

#include "google/protobuf/util/time_util.h"
#include "host-runtime/vm/run_command.h"
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
  absl::Status last = absl::FailedPreconditionError("no TTRPC_ADDRESS");
  for (int attempt = 0; attempt < 2 && !address_.empty(); ++attempt) {  // a dropped connection is dialled once more
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
  if (!publish_binary_.empty()) {
    absl::Status by_binary = PublishByBinary(topic, env->event());
    if (by_binary.ok()) return by_binary;
    last = absl::Status(by_binary.code(), StrCat(last.message(), "; ", by_binary.message()));
  }
  kLog.Warn("event not published", {{"topic", topic}, {"error", std::string(last.message())}});
  return last;
}

absl::Status EventPublisher::PublishByBinary(const std::string& topic, const google::protobuf::Any& event) {
  auto r = runtime::RunCommand({publish_binary_, "--address", containerd_address_, "publish", "--topic", topic,
                                "--namespace", namespace_},
                               absl::Seconds(10), 64 << 10, event.SerializeAsString());
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::UnavailableError(StrCat(publish_binary_, " publish failed: ", r->output));
  return absl::OkStatus();
}

}  // namespace kata::shim
