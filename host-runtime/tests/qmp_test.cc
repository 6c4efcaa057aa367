// The QMP client against a scripted QMP server in the test: a unix socket whose other end
// follows a script (greeting, replies out of order, events in between, errors, dying).

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "host-runtime/qmp/qmp_client.h"
#include "host-runtime/qmp/qmp_message.h"
#include "host-runtime/tests/scripted_qmp.h"
#include "libkata/base/unique_fd.h"
#include "libkata/base/unix_socket.h"
#include "libkata/testing/test_support.h"

using kata::runtime::ParseQmpMessage;
using kata::runtime::QmpClient;
using kata::runtime::QmpEvent;
using kata::runtime::QmpReply;
using kata::runtime::testing::Event;
using kata::runtime::testing::kGreeting;
using kata::runtime::testing::ScriptedQmp;
using nlohmann::json;

TEST_CASE("qmp: messages are classified; hostile lines are errors", "[qmp]") {
  auto g = ParseQmpMessage(kGreeting);
  REQUIRE(g.ok());
  CHECK(std::get<kata::runtime::QmpGreeting>(*g).version["qemu"]["major"] == 7);
  auto r = ParseQmpMessage(R"({"return": {"status": "running"}, "id": 42})");
  REQUIRE(r.ok());
  CHECK(*std::get<QmpReply>(*r).id == 42);
  CHECK(std::get<QmpReply>(*r).value->at("status") == "running");
  auto e = ParseQmpMessage(R"({"error": {"class": "DeviceNotFound", "desc": "Device 'blk9' not found"}, "id": 3})");
  REQUIRE(e.ok());
  CHECK_FALSE(std::get<QmpReply>(*e).ok());
  CHECK(kata::runtime::QmpErrorStatus("device_del", std::get<QmpReply>(*e)).code() == absl::StatusCode::kNotFound);
  auto ev = ParseQmpMessage(Event("DEVICE_DELETED", {{"device", "blk0"}}));
  REQUIRE(ev.ok());
  CHECK(std::get<QmpEvent>(*ev).name == "DEVICE_DELETED");
  CHECK(std::get<QmpEvent>(*ev).timestamp == 1700000000.25);
  for (const char* bad : {"", "not json", "[1,2]", "42", R"({"id": 1})", R"({"return": 1, "id": -5})",
                          R"({"return": 1, "id": "x"})", R"({"event": 5})", R"({"QMP": 1})", R"({"error": "x"})",
                          R"({"event": "E", "timestamp": {"seconds": "soon"}})"}) {
    INFO(bad);
    auto m = ParseQmpMessage(bad);
    if (std::string_view(bad).find("soon") != std::string_view::npos) {
      CHECK(m.ok());  // a malformed timestamp is tolerated, not thrown
    } else {
      CHECK(m.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  CHECK(kata::runtime::SerializeQmpCommand("query-status", nullptr, 7) == "{\"execute\":\"query-status\",\"id\":7}\n");
}

TEST_CASE("qmp: handshake, then replies out of order with events in between", "[qmp]") {
  kata::testing::TempDir dir;
  ScriptedQmp server(dir.Sub("qmp.sock"), [](ScriptedQmp& s) {
    json a = s.Receive();
    json b = s.Receive();
    // Whatever order they came in, answer query-second first.
    json first = a["execute"] == "query-first" ? a : b;
    json second = a["execute"] == "query-first" ? b : a;
    s.Send(Event("RESUME", json::object()));
    s.Send(json{{"return", {{"answer", "to second"}}}, {"id", second["id"]}}.dump());
    s.Send(Event("STOP", json::object()));
    s.Send(json{{"return", {{"answer", "to first"}}}, {"id", first["id"]}}.dump());
    s.Receive();  // until the client goes
  });
  auto client = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  INFO(client.status());
  REQUIRE(client.ok());
  CHECK((*client)->version()["qemu"]["minor"] == 2);
  std::vector<std::string> events;
  std::mutex mu;
  (*client)->Subscribe([&](const QmpEvent& e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(e.name);
  });
  auto first = std::async(std::launch::async, [&] { return (*client)->Execute("query-first"); });
  auto second = (*client)->Execute("query-second", json{{"x", 1}});
  REQUIRE(second.ok());
  CHECK((*second)["answer"] == "to second");
  auto first_result = first.get();
  REQUIRE(first_result.ok());
  CHECK((*first_result)["answer"] == "to first");
  std::lock_guard<std::mutex> l(mu);
  CHECK(events == std::vector<std::string>{"RESUME", "STOP"});
}

TEST_CASE("qmp: error replies become statuses naming class and desc", "[qmp]") {
  kata::testing::TempDir dir;
  ScriptedQmp server(dir.Sub("qmp.sock"), [](ScriptedQmp& s) {
    for (const char* cls : {"GenericError", "CommandNotFound", "DeviceNotFound"}) {
      json c = s.Receive();
      s.Send(json{{"error", {{"class", cls}, {"desc", std::string("because ") + cls}}}, {"id", c["id"]}}.dump());
    }
    s.Receive();
  });
  auto client = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(client.ok());
  auto generic = (*client)->Execute("blockdev-add", json{{"node-name", "drive-0"}});
  CHECK(generic.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(generic.status().message()) == "QMP blockdev-add: GenericError: because GenericError");
  CHECK((*client)->Execute("frobnicate").status().code() == absl::StatusCode::kUnimplemented);
  CHECK((*client)->Execute("device_del").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("qmp: an event that comes before the reply is not missed", "[qmp]") {
  kata::testing::TempDir dir;
  ScriptedQmp server(dir.Sub("qmp.sock"), [](ScriptedQmp& s) {
    json del = s.Receive();
    // As QEMU does on device_del: a first DEVICE_DELETED for the backend, then the device.
    s.Send(Event("DEVICE_DELETED", {{"path", "/machine/peripheral/blk0/virtio-backend"}}));
    s.Send(Event("DEVICE_DELETED", {{"device", "blk0"}, {"path", "/machine/peripheral/blk0"}}));
    s.Send(json{{"return", json::object()}, {"id", del["id"]}}.dump());
    s.Receive();
  });
  auto client = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(client.ok());
  auto deleted = (*client)->ExpectEvent("DEVICE_DELETED", [](const json& d) { return d.value("device", "") == "blk0"; });
  REQUIRE((*client)->Execute("device_del", json{{"id", "blk0"}}).ok());
  auto e = deleted->Wait(absl::Seconds(5));
  REQUIRE(e.ok());
  CHECK(e->data["path"] == "/machine/peripheral/blk0");
  auto other = (*client)->ExpectEvent("DEVICE_DELETED", [](const json& d) { return d.value("device", "") == "blk1"; });
  CHECK(other->Wait(absl::Milliseconds(50)).status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("qmp: a command that gets no reply times out; the next one works", "[qmp]") {
  kata::testing::TempDir dir;
  ScriptedQmp server(dir.Sub("qmp.sock"), [](ScriptedQmp& s) {
    json slow = s.Receive();
    json fast = s.Receive();
    s.Send(json{{"return", "fast"}, {"id", fast["id"]}}.dump());
    s.Send(json{{"return", "late"}, {"id", slow["id"]}}.dump());  // after its caller gave up
    s.Receive();
  });
  auto client = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(client.ok());
  const absl::Time start = absl::Now();
  auto slow = (*client)->Execute("slow", nullptr, absl::Milliseconds(100));
  CHECK(slow.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::Now() - start < absl::Seconds(2));
  auto fast = (*client)->Execute("fast");
  REQUIRE(fast.ok());
  CHECK(*fast == "fast");
}

TEST_CASE("qmp: the server dying mid-command fails it and every later one", "[qmp]") {
  kata::testing::TempDir dir;
  ScriptedQmp server(dir.Sub("qmp.sock"), [](ScriptedQmp& s) {
    s.Receive();
    s.Send(R"({"return": {}, "id": 999})");  // nobody's id: ignored
    s.SendRaw("{\"return\": {}, \"i");          // half a message, then gone
    s.Hangup();
  });
  auto client = QmpClient::Connect(dir.Sub("qmp.sock"), absl::Seconds(5));
  REQUIRE(client.ok());
  auto waiter = (*client)->ExpectEvent("SHUTDOWN", nullptr);
  auto r = (*client)->Execute("query-status", nullptr, absl::Seconds(10));
  CHECK(r.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(r.status().message()).find("closed") != std::string::npos);
  CHECK((*client)->Execute("query-status").status().code() == absl::StatusCode::kUnavailable);
  CHECK(waiter->Wait(absl::Seconds(5)).status().code() == absl::StatusCode::kUnavailable);
  CHECK_FALSE((*client)->connected());
}

TEST_CASE("qmp: no server, or no greeting, is an error in time", "[qmp]") {
  kata::testing::TempDir dir;
  CHECK(QmpClient::Connect(dir.Sub("none.sock"), absl::Seconds(1)).status().code() == absl::StatusCode::kNotFound);
  // A socket that never greets.
  auto l = kata::ListenUnixSocket(dir.Sub("mute.sock"));
  REQUIRE(l.ok());
  auto mute = QmpClient::Connect(dir.Sub("mute.sock"), absl::Milliseconds(200));
  CHECK(mute.status().code() == absl::StatusCode::kDeadlineExceeded);
}
