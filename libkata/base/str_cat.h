#pragma once

// Debian builds abseil with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0),
// which does not convert from std::string_view. Our APIs speak std::string_view; this StrCat
// adapts them so absl::StrCat can be used throughout.

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kata {
namespace internal {

inline absl::string_view AdaptForAbsl(std::string_view s) { return {s.data(), s.size()}; }

template <typename T>
  requires(!std::is_convertible_v<const T&, std::string_view>)
const T& AdaptForAbsl(const T& v) {
  return v;
}

}  // namespace internal

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(internal::AdaptForAbsl(args)...);
}

}  // namespace kata
