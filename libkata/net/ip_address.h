#pragma once

// IP addresses, prefixes and MAC addresses as the agent API carries them (strings), parsed
// and formatted (pure). Both sides use them: the host turns what it reads from the pod's
// network namespace into agent requests, the agent checks them before touching a link.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kata::net {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  bool is_v4() const;
  size_t size() const { return is_v4() ? 4 : 16; }  // the bytes that count
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 0;  // 0..32 or 0..128
  bool operator==(const IpPrefix&) const = default;
};

// "10.1.2.3" or "fd00::1". `what` names the field in the error.
absl::StatusOr<IpAddress> ParseIpAddress(std::string_view text, std::string_view what);
// "10.1.2.0/24", "fd00::/64"; a bare address is a host prefix (/32, /128).
absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text, std::string_view what);
// A prefix length as the API's IPAddress.mask carries it ("24"), for `family`.
absl::StatusOr<int> ParsePrefixLength(std::string_view text, int family, std::string_view what);

std::string FormatIpAddress(const IpAddress& address);
// "a.b.c.d/len"; the address bits past the prefix are kept as given.
std::string FormatIpPrefix(const IpPrefix& prefix);

using MacAddress = std::array<uint8_t, 6>;
// "52:54:00:12:34:56" (case-insensitive, ':' only).
absl::StatusOr<MacAddress> ParseMacAddress(std::string_view text, std::string_view what);
std::string FormatMacAddress(const MacAddress& mac);  // lower case

// A Linux interface name: 1..15 bytes, none of '/', ':', whitespace; not "." or "..".
absl::Status ValidateInterfaceName(std::string_view name, std::string_view what);

}  // namespace kata::net
