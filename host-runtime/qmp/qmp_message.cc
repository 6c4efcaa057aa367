#include "host-runtime/qmp/qmp_message.h"

#include "libkata/base/str_cat.h"

namespace kata::runtime {

namespace {

double NumberOr(const nlohmann::json& obj, const char* key, double fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<double>() : fallback;
}

absl::StatusOr<QmpMessage> Parse(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("QMP message ", why, ": ", line.substr(0, 200)));
  };
  if (j.is_discarded()) return bad("is not JSON");
  if (!j.is_object()) return bad("is not a JSON object");
  if (auto it = j.find("QMP"); it != j.end()) {
    if (!it->is_object()) return bad("has a QMP greeting that is not an object");
    return QmpGreeting{it->value("version", nlohmann::json::object())};
  }
  if (auto it = j.find("event"); it != j.end()) {
    if (!it->is_string()) return bad("has an event name that is not a string");
    QmpEvent e{it->get<std::string>(), j.value("data", nlohmann::json::object()), 0};
    if (auto ts = j.find("timestamp"); ts != j.end() && ts->is_object()) {
      e.timestamp = NumberOr(*ts, "seconds", 0) + NumberOr(*ts, "microseconds", 0) / 1e6;
    }
    return e;
  }
  QmpReply r;
  if (auto id = j.find("id"); id != j.end()) {
    if (!id->is_number_unsigned()) return bad("has an id that is not ours");
    r.id = id->get<uint64_t>();
  }
  if (auto ret = j.find("return"); ret != j.end()) {
    r.value = *ret;
    return r;
  }
  if (auto err = j.find("error"); err != j.end()) {
    if (!err->is_object()) return bad("has an error that is not an object");
    const auto cls = err->find("class");
    const auto desc = err->find("desc");
    r.error_class = cls != err->end() && cls->is_string() ? cls->get<std::string>() : "GenericError";
    r.error_desc = desc != err->end() && desc->is_string() ? desc->get<std::string>() : "";
    return r;
  }
  return bad("is neither a greeting, a reply nor an event");
}

}  // namespace

absl::StatusOr<QmpMessage> ParseQmpMessage(std::string_view line) {
  // nlohmann reports misuse by exception; none may leave this module.
  try {
    return Parse(line);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat("QMP message unreadable (", e.what(), "): ", line.substr(0, 200)));
  }
}

std::string SerializeQmpCommand(std::string_view command, const nlohmann::json& arguments, uint64_t id) {
  nlohmann::json j = {{"execute", command}, {"id", id}};
  if (!arguments.is_null() && !(arguments.is_object() && arguments.empty())) j["arguments"] = arguments;
  return j.dump() + "\n";
}

absl::Status QmpErrorStatus(std::string_view command, const QmpReply& reply) {
  const std::string msg = StrCat("QMP ", command, ": ", reply.error_class, ": ", reply.error_desc);
  if (reply.error_class == "DeviceNotFound") return absl::NotFoundError(msg);
  if (reply.error_class == "CommandNotFound") return absl::UnimplementedError(msg);
  return absl::FailedPreconditionError(msg);
}

}  // namespace kata::runtime
