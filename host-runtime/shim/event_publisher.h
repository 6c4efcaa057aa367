#pragma once

// Task events to containerd: Forward(Envelope) on the events service over ttrpc at
// $TTRPC_ADDRESS, with the namespace in the request metadata; when that fails, containerd's
// publish binary (`<publish-binary> --address ADDR publish --topic T --namespace NS`, the
// event's Any on stdin). Published in the order the task service produces them; an
// unreachable containerd is logged, not fatal.

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "libkata/ttrpc/client.h"

namespace kata::shim {

class EventPublisher {
 public:
  EventPublisher(std::string ttrpc_address, std::string ns, std::string publish_binary = "",
                 std::string containerd_address = "")
      : address_(std::move(ttrpc_address)), namespace_(std::move(ns)), publish_binary_(std::move(publish_binary)),
        containerd_address_(std::move(containerd_address)) {}

  // topic: "/tasks/exit"; type_url: "containerd.events.TaskExit".
  absl::Status Publish(const std::string& topic, const std::string& type_url, const google::protobuf::Message& event)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::string address_;
  std::string namespace_;
  std::string publish_binary_;
  std::string containerd_address_;
  absl::Status PublishByBinary(const std::string& topic, const google::protobuf::Any& event);
  absl::Mutex mu_;  // one event at a time: containerd sees them in order
  std::unique_ptr<ttrpc::Client> client_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kata::shim
