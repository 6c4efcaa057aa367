#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace kata {

// A container, exec or sandbox id is used as a path component on both sides, so it must be
// one: 1..128 characters of [A-Za-z0-9_.-], starting with a letter or digit (as Kata's
// verify_id), which rules out "/", "\", NUL and "..". InvalidArgument names the field.
absl::Status ValidateId(std::string_view field, std::string_view id);

}  // namespace kata
