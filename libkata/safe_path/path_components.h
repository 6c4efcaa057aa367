#pragma once

#include <deque>
#include <string>
#include <string_view>

namespace kata::safe_path::internal {

// Splits a path into its non-empty components ("a//b/" -> a, b). "." and ".." are kept for
// the resolver to interpret.
std::deque<std::string> SplitComponents(std::string_view path);

// Joins components under "/" ("" -> "/").
std::string JoinAbsolute(const std::deque<std::string>& components);

// The most symlinks a resolution may follow (Linux's own limit is 40 per lookup; securejoin
// uses 255: we follow the more forgiving one, it only bounds loops).
inline constexpr int kMaxSymlinks = 255;

}  // namespace kata::safe_path::internal
