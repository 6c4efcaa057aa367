#pragma once

// The agent channel over virtio-serial: a port has no connection boundaries. The guest hears
// "host closed" and "host open" only as port states, and a quick leave-and-return can pass
// unseen, so the old connection's bytes and the new one's run together. ttrpc has no preface
// of its own, so over serial (and only there) the host starts every connection with this
// one. It can never be taken for a ttrpc frame: read as a frame header its length field
// ("KATA") is far over ttrpc's 4 MiB limit.

#include <string_view>

namespace kata::agent_api {

inline constexpr std::string_view kSerialSessionPreface = "KATA-TTRPC-SESSION/1\r\n\r\n";

}  // namespace kata::agent_api
