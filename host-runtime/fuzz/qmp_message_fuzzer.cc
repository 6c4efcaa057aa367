// What QEMU's monitor socket sends the runtime, one JSON line each: the greeting, replies
// (with our id), errors, events. A QEMU that misbehaves (or a process that took its socket)
// can send any bytes; each line is a message or a clear error, never an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "absl/strings/str_split.h"
#include "host-runtime/qmp/qmp_message.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kata::runtime;
  const absl::string_view stream(reinterpret_cast<const char*>(data), size);
  for (absl::string_view piece : absl::StrSplit(stream, '\n')) {
    auto message = ParseQmpMessage(std::string_view(piece.data(), piece.size()));
    if (!message.ok()) continue;
    // What the client logs or hands on is written back as JSON (strict UTF-8: throws on bad
    // bytes, which must never have been accepted).
    if (const auto* g = std::get_if<QmpGreeting>(&*message)) {
      (void)g->version.dump();
    } else if (const auto* e = std::get_if<QmpEvent>(&*message)) {
      (void)e->data.dump();
    } else {
      const auto& r = std::get<QmpReply>(*message);
      if (r.ok()) {
        (void)r.value->dump();
      } else {
        const absl::Status s = QmpErrorStatus("device_add", r);
        KATA_FUZZ_CHECK(!s.ok(), "a QMP error reply read as success");
      }
    }
  }
  return 0;
}
