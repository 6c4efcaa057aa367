#pragma once

#include <string>
#include <string_view>

namespace kata {

// Appends `s` as a JSON string literal (quotes included) to `out`. Control characters and
// bytes that are not valid UTF-8 are escaped, so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace kata
