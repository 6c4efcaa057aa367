// The shim's events: over ttrpc to containerd's events service, and through containerd's
// publish binary when that service cannot be reached.

#include <sys/stat.h>

#include "google/protobuf/any.pb.h"
#include "host-runtime/shim/event_publisher.h"
#include "host-runtime/tests/fake_events.h"
#include "libkata/testing/test_support.h"
#include "protocols/containerd_task.pb.h"

using kata::shim::EventPublisher;

namespace {

containerd::task::v2::TaskExit ExitEvent() {
  containerd::task::v2::TaskExit e;
  e.set_container_id("c1");
  e.set_id("c1");
  e.set_exit_status(7);
  return e;
}

}  // namespace

TEST_CASE("events: Forward over ttrpc with the namespace, in order", "[events]") {
  kata::testing::TempDir tmp;
  kata::shim::testing::FakeEvents events(tmp.Sub("events.sock"));
  EventPublisher publisher(tmp.Sub("events.sock"), "ns1");
  REQUIRE(publisher.Publish("/tasks/start", "containerd.events.TaskStart", containerd::task::v2::TaskStart()).ok());
  REQUIRE(publisher.Publish("/tasks/exit", "containerd.events.TaskExit", ExitEvent()).ok());
  std::lock_guard<std::mutex> l(events.mu);
  CHECK(events.topics == std::vector<std::string>{"/tasks/start containerd.events.TaskStart", "/tasks/exit containerd.events.TaskExit"});
  CHECK(events.namespaces == std::vector<std::string>{"ns1/ns1", "ns1/ns1"});
}

TEST_CASE("events: without the events service, containerd's publish binary gets the event", "[events]") {
  kata::testing::TempDir tmp;
  // A stand-in for `containerd publish`: records its arguments and stdin.
  const std::string publish = tmp.Sub("publish");
  kata::testing::WriteFile(publish, "#!/bin/sh\necho \"$@\" > " + tmp.Sub("args") + "\ncat > " + tmp.Sub("stdin") + "\n");
  REQUIRE(::chmod(publish.c_str(), 0755) == 0);
  EventPublisher publisher(tmp.Sub("no-such.sock"), "ns2", publish, "/run/containerd/containerd.sock");
  REQUIRE(publisher.Publish("/tasks/exit", "containerd.events.TaskExit", ExitEvent()).ok());
  CHECK(kata::testing::ReadFile(tmp.Sub("args")) ==
        "--address /run/containerd/containerd.sock publish --topic /tasks/exit --namespace ns2\n");
  google::protobuf::Any any;
  REQUIRE(any.ParseFromString(kata::testing::ReadFile(tmp.Sub("stdin"))));
  CHECK(any.type_url() == "containerd.events.TaskExit");
  containerd::task::v2::TaskExit got;
  REQUIRE(got.ParseFromString(any.value()));
  CHECK(got.exit_status() == 7);
  // Neither way works: an error naming both, never a crash.
  EventPublisher nowhere(tmp.Sub("no-such.sock"), "ns2", tmp.Sub("no-such-binary"), "/x");
  CHECK_FALSE(nowhere.Publish("/tasks/exit", "containerd.events.TaskExit", ExitEvent()).ok());
}
