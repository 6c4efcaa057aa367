#include "libkata/net/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "libkata/base/str_cat.h"

namespace kata::net {

bool IpAddress::is_v4() const { return family == AF_INET; }

absl::StatusOr<IpAddress> ParseIpAddress(std::string_view text, std::string_view what) {
  const std::string s(text);
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return absl::InvalidArgumentError(StrCat(what, " \"", text, "\" is not an IPv4 or IPv6 address"));
}

absl::StatusOr<int> ParsePrefixLength(std::string_view text, int family, std::string_view what) {
  const int max = family == AF_INET ? 32 : 128;
  int length = 0;
  const bool digits = !text.empty() && text.size() <= 3 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits || !absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &length) || length > max) {
    return absl::InvalidArgumentError(StrCat(what, " \"", text, "\" is not a prefix length from 0 to ", max));
  }
  return length;
}

absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text, std::string_view what) {
  const size_t slash = text.find('/');
  IpPrefix p;
  auto address = ParseIpAddress(text.substr(0, slash), what);
  if (!address.ok()) {
    return absl::InvalidArgumentError(StrCat(what, " \"", text, "\" is not an address or an address/length"));
  }
  p.address = *address;
  if (slash == std::string_view::npos) {
    p.length = p.address.is_v4() ? 32 : 128;
    return p;
  }
  auto length = ParsePrefixLength(text.substr(slash + 1), p.address.family, what);
  if (!length.ok()) {
    return absl::InvalidArgumentError(StrCat(what, " \"", text, "\" has a bad prefix length (0 to ",
                                             p.address.is_v4() ? 32 : 128, ")"));
  }
  p.length = *length;
  return p;
}

std::string FormatIpAddress(const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(address.family, address.bytes.data(), buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::string FormatIpPrefix(const IpPrefix& prefix) { return StrCat(FormatIpAddress(prefix.address), "/", prefix.length); }

absl::StatusOr<MacAddress> ParseMacAddress(std::string_view text, std::string_view what) {
  MacAddress mac{};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  bool ok = text.size() == 17;
  for (size_t i = 0; ok && i < 6; ++i) {
    const int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
    ok = hi >= 0 && lo >= 0 && (i == 5 || text[i * 3 + 2] == ':');
    if (ok) mac[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  if (!ok) return absl::InvalidArgumentError(StrCat(what, " \"", text, "\" is not a MAC address (xx:xx:xx:xx:xx:xx)"));
  return mac;
}

std::string FormatMacAddress(const MacAddress& mac) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

absl::Status ValidateInterfaceName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 15 && name != "." && name != "..";
  for (char c : name) ok = ok && c != '/' && c != ':' && !std::isspace(static_cast<unsigned char>(c)) && c != '\0';
  if (!ok) {
    return absl::InvalidArgumentError(
        StrCat(what, " \"", name, "\" is not an interface name (1 to 15 bytes, no '/', ':' or spaces)"));
  }
  return absl::OkStatus();
}

}  // namespace kata::net
